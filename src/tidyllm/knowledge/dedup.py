"""No duplicates: one document per paper, with every name it arrived under.

Two ways to be the same document of a domain (issue 13 item 5):

* **the same content hash under another name** - found before any chunking or
  embedding (one indexed probe), so the second name costs one row in
  ``document_sources`` and nothing else;
* **the same DOI or arXiv id** - known only once metadata is there: before indexing when
  the caller passes ``identifiers`` to :func:`~tidyllm.knowledge.indexing.index_document`
  (arXiv import, or an ingest that read them from the first pages), else after the
  extracted or fetched layer is written, through :func:`merge_identified`.

A document keeps its row (its id, collections, edits); its primary ``source_uri`` is the
name of the content it holds, every other name is a ``document_sources`` row.

Every "same paper" goes through this module: the lookup (:func:`find_same`,
:func:`identified`: documents with text before metadata-only records) and the merge
(:func:`merge_documents`: a document with text survives over a metadata-only record, else
the older one), whether the identifiers become known at indexing, after it
(:func:`merge_identified`) or from an import (:func:`absorb_records`, used by
:mod:`tidyllm.knowledge.papers` and :mod:`tidyllm.knowledge.bibtex`). A metadata-only
record's URI (``doi:...``, ``legacy:...``) names no content and never becomes a name. A newer
arXiv version (``v2`` after ``v1``) replaces the content through the versioning that
re-indexing uses: the old chunks are deleted and the new ones take their place in one
transaction, so a concurrent search sees the old version or the new one, never both or
none. The same DOI, or an arXiv version that is not newer, keeps the document's content
and only adds the name.

Lock order, everywhere: the new name's source lock (as ``index_document``), the content
lock of its hash, then (when identifiers are involved) the domain's dedup lock, then
document rows (``FOR UPDATE``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

from psycopg.types.json import Jsonb

from tidyllm.errors import DocumentNotFound, KnowledgeError
from tidyllm.knowledge.metadata import LAYERS, read_layers, write_layer

Reason = Literal["content", "doi", "arxiv"]

_ARXIV = re.compile(
    r"^(?:arxiv:)?(?P<base>\d{4}\.\d{4,5}|[a-z][a-z.-]*(?:\.[a-z]{2})?/\d{7})(?:v(?P<v>\d+))?$",
    re.IGNORECASE,
)
_LOCK = "SELECT pg_advisory_xact_lock(hashtextextended(%s, %s))"


def arxiv_key(arxiv_id: str | None) -> tuple[str, int] | None:
    """(base id lower-cased, version; 0 when none is given) of an arXiv id, else None."""
    if not arxiv_id:
        return None
    found = _ARXIV.match(arxiv_id.strip())
    if found is None:
        return None
    return found["base"].lower(), int(found["v"] or 0)


def _doi(value: str | None) -> str | None:
    value = (value or "").strip().lower()
    value = re.sub(r"^(?:doi:|https?://(?:dx\.)?doi\.org/)", "", value)
    return value or None


@dataclass(frozen=True)
class Same:
    """An existing document the new name is the same as, and what to do with it.

    ``action``: ``name`` (add the name, keep the content) or ``replace`` (a newer arXiv
    version: the new content replaces the document's, the new name becomes its primary).
    """

    document_id: int
    source_uri: str
    reason: Reason
    action: Literal["name", "replace"]
    has_text: bool = True  # False: a metadata-only record (no chunks)


def lock_content(conn: Any, domain_id: int, content_hash: str) -> None:
    """Serialise writers of the same bytes in a domain (content-hash dedup)."""
    conn.execute(_LOCK, ("content:" + content_hash, domain_id))


def lock_domain(conn: Any, domain_id: int) -> None:
    """Serialise identifier dedup decisions in a domain (held for one short transaction)."""
    conn.execute(_LOCK, ("dedup", domain_id))


def source_of(conn: Any, domain_id: int, source_uri: str) -> tuple[int, str] | None:
    """(document id, content hash seen under it) when ``source_uri`` is a further name."""
    row = conn.execute(
        "SELECT document_id, content_hash FROM document_sources "
        "WHERE domain_id = %s AND source_uri = %s",
        (domain_id, source_uri),
    ).fetchone()
    return None if row is None else (int(row[0]), str(row[1]))


def find_same(
    conn: Any,
    domain_id: int,
    content_hash: str | None,
    identifiers: Mapping[str, str | None] | None = None,
    *,
    exclude: int | None = None,
) -> Same | None:
    """The document of the domain that a new name with this content / identifiers is
    (``content_hash`` None: by identifiers only; see :func:`identified`)."""
    row = None
    if content_hash is not None:
        row = conn.execute(
            "SELECT id, source_uri FROM documents WHERE domain_id = %s AND content_hash = %s "
            "AND id IS DISTINCT FROM %s ORDER BY id LIMIT 1",
            (domain_id, content_hash, exclude),
        ).fetchone()
    if row is not None:
        return Same(int(row[0]), row[1], "content", "name")
    return next(iter(identified(conn, domain_id, identifiers, exclude=exclude)), None)


def identified(
    conn: Any,
    domain_id: int,
    identifiers: Mapping[str, str | None] | None,
    *,
    exclude: int | None = None,
) -> list[Same]:
    """Every document of the domain with this DOI or arXiv id (any version), the one to
    join first: documents with text before metadata-only records, an arXiv match before a
    DOI one, then the oldest. ``action`` is ``replace`` for a record (the paper fills it)
    and for an older arXiv version than ``identifiers`` names."""
    ids = identifiers or {}
    found: dict[int, tuple[tuple[bool, int, int], Same]] = {}
    new_arxiv = arxiv_key(ids.get("arxiv_id"))
    if new_arxiv is not None:
        # arXiv ids are stored as given (with or without vN): match on the base id
        rows = conn.execute(
            "SELECT m.document_id, d.source_uri, m.arxiv_id, d.chunk_count "
            "FROM document_metadata m JOIN documents d ON d.id = m.document_id "
            "WHERE m.domain_id = %s AND lower(m.arxiv_id) LIKE %s "
            "AND m.document_id IS DISTINCT FROM %s",
            (domain_id, _like_prefix(new_arxiv[0]), exclude),
        ).fetchall()
        for document_id, uri, arxiv_id, chunks in rows:
            old = arxiv_key(arxiv_id)
            if old is not None and old[0] == new_arxiv[0]:
                action = "replace" if new_arxiv[1] > old[1] or chunks == 0 else "name"
                same = Same(int(document_id), uri, "arxiv", action, chunks > 0)
                found[same.document_id] = ((chunks == 0, 0, same.document_id), same)
    doi = _doi(ids.get("doi"))
    if doi is not None:
        rows = conn.execute(
            "SELECT m.document_id, d.source_uri, d.chunk_count FROM document_metadata m "
            "JOIN documents d ON d.id = m.document_id "
            "WHERE m.domain_id = %s AND lower(m.doi) = %s "
            "AND m.document_id IS DISTINCT FROM %s",
            (domain_id, doi, exclude),
        ).fetchall()
        for document_id, uri, chunks in rows:
            same = Same(
                int(document_id), uri, "doi", "replace" if chunks == 0 else "name", chunks > 0
            )
            found.setdefault(same.document_id, ((chunks == 0, 1, same.document_id), same))
    return [same for _, same in sorted(found.values())]


def _like_prefix(base: str) -> str:
    return base.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def add_name(
    conn: Any,
    domain_id: int,
    document_id: int,
    source_uri: str,
    *,
    reason: Reason,
    content_hash: str,
    version: str,
    metadata: Mapping[str, Any] | None = None,
) -> None:
    """Record ``source_uri`` as a further name of the document (idempotent)."""
    conn.execute(
        "INSERT INTO document_sources (domain_id, source_uri, document_id, reason, "
        "content_hash, version, metadata) VALUES (%s, %s, %s, %s, %s, %s, %s) "
        "ON CONFLICT (domain_id, source_uri) DO UPDATE SET document_id = EXCLUDED.document_id, "
        "reason = EXCLUDED.reason, content_hash = EXCLUDED.content_hash, "
        "version = EXCLUDED.version, metadata = EXCLUDED.metadata, added_at = now()",
        (domain_id, source_uri, document_id, reason, content_hash, version, Jsonb(metadata or {})),
    )


def take_over(conn: Any, domain_id: int, same: Same, source_uri: str) -> tuple[Any, ...] | None:
    """Make ``source_uri`` the primary name of ``same``'s document, which the caller then
    re-writes with the new content (a newer arXiv version); the old primary name becomes a
    further name. Returns the document's row as ``indexing._current`` does (None: gone)."""
    row = conn.execute(
        "SELECT id, content_hash, version, chunk_count, page_count, source_uri, metadata "
        "FROM documents WHERE id = %s AND domain_id = %s FOR UPDATE",
        (same.document_id, domain_id),
    ).fetchone()
    if row is None:
        return None
    conn.execute(
        "DELETE FROM document_sources WHERE domain_id = %s AND source_uri = %s",
        (domain_id, source_uri),
    )
    conn.execute("UPDATE documents SET source_uri = %s WHERE id = %s", (source_uri, row[0]))
    if row[3] > 0:  # a metadata-only record's URI (doi:..., legacy:...) names no content
        add_name(
            conn,
            domain_id,
            row[0],
            row[5],
            reason=same.reason,
            content_hash=row[1],
            version=row[2],
            metadata=row[6],
        )
    return tuple(row[:5])


def drop_stale_names(conn: Any, document_id: int, content_hash: str) -> None:
    """A document whose content changed no longer has the names that held the old bytes
    only by being the same bytes (identifier names stay: still the same paper)."""
    conn.execute(
        "DELETE FROM document_sources WHERE document_id = %s AND reason = 'content' "
        "AND content_hash <> %s",
        (document_id, content_hash),
    )


@dataclass(frozen=True)
class SourceName:
    """One name of a document: the primary one (``reason`` None) or a further one."""

    source_uri: str
    reason: Reason | None
    content_hash: str


_BECAUSE: dict[str | None, str] = {
    None: "primary: the content the document holds",
    "content": "the same bytes (content hash)",
    "doi": "the same DOI",
    "arxiv": "the same arXiv id (this or another version)",
}


def same_because(reason: str | None) -> str:
    """Why a name of a document is that document, in words (``reason`` None: primary)."""
    return _BECAUSE.get(reason, str(reason))


def document_names(conn: Any, document_id: int) -> list[SourceName]:
    """Every name of a document, the primary one first (the caller checks the grant)."""
    rows = conn.execute(
        "SELECT source_uri, NULL, content_hash, 0 AS o, indexed_at FROM documents "
        "WHERE id = %(id)s UNION ALL SELECT source_uri, reason, content_hash, 1, added_at "
        "FROM document_sources WHERE document_id = %(id)s ORDER BY 4, 5, 1",
        {"id": document_id},
    ).fetchall()
    return [SourceName(r[0], r[1], r[2]) for r in rows]


@dataclass(frozen=True)
class Merged:
    """What :func:`merge_identified` did: ``kept`` is the surviving document's id,
    ``removed`` the first document merged into it (``also_removed``: any further ones)."""

    kept: int
    removed: int
    reason: Reason | None  # None: a record merged by its URI only (absorb_records)
    replaced_content: bool
    also_removed: tuple[int, ...] = ()


def merge_identified(sm: Any, document_id: int) -> Merged | None:
    """Merge ``document_id`` and every other document of its domain with the same DOI or
    arXiv id into one, in one transaction; None when there is none (or it is gone).

    Call it after writing a layer that may carry identifiers (extracted, fetched). Which
    document survives, whose content and values are kept: :func:`merge_documents`; a newer
    arXiv version's chunks, vector and file become the survivor's content in the
    transaction that deletes the old chunks (never both, never neither).
    """
    if isinstance(document_id, bool) or not isinstance(document_id, int):
        raise KnowledgeError("document_id must be an integer")
    with sm.connection() as conn, conn.transaction():
        return merge_same(conn, document_id)


def merge_same(conn: Any, document_id: int) -> Merged | None:
    """:func:`merge_identified` in the caller's transaction (which takes
    :func:`lock_domain` before any document row, as the lock order wants)."""
    head = conn.execute("SELECT domain_id FROM documents WHERE id = %s", (document_id,))
    head = head.fetchone()
    if head is None:
        return None
    domain_id = int(head[0])
    lock_domain(conn, domain_id)
    first: Merged | None = None
    current = document_id
    while True:
        meta = conn.execute(
            "SELECT doi, arxiv_id FROM document_metadata WHERE document_id = %s", (current,)
        ).fetchone()
        if meta is None or (meta[0] is None and meta[1] is None):
            break
        same = find_same(
            conn, domain_id, None, {"doi": meta[0], "arxiv_id": meta[1]}, exclude=current
        )
        if same is None:
            break
        # replace: ``current`` is a newer arXiv version (or ``same`` a record)
        newer = current if same.action == "replace" else same.document_id
        step = merge_documents(conn, domain_id, current, same.document_id, same.reason, newer)
        current = step.kept
        if first is None:
            first = step
        else:
            first = replace(first, kept=step.kept, also_removed=(*first.also_removed, step.removed))
    return first


def merge_documents(
    conn: Any, domain_id: int, a: int, b: int, reason: Reason | None, content_of: int
) -> Merged:
    """Merge two documents of a domain that are one paper, in the caller's transaction
    (under :func:`lock_domain`); ``content_of`` is the one whose content to keep.

    * the survivor: a document with text over a metadata-only record, else the older (its
      id, collections and edits stay); the other is deleted;
    * the content: ``content_of``'s, but never "no text" over text; when it is the removed
      document's, its chunks and file replace the survivor's (old chunks deleted, new ones
      moved, in this transaction) and the survivor's old name becomes a further name;
    * layers: ``extracted`` is the kept content's; every other layer is united field by
      field (free fields too), the file's values over a record's, else the newer's on top;
    * names and collections are united; a record's own URI (``doi:...``, ``legacy:...``)
      names no content and is not kept (``reason`` None: matched by that URI only).
    """
    from tidyllm.knowledge.similar import refresh_vector

    rows = {
        r[0]: r
        for r in conn.execute(
            "SELECT id, source_uri, version, content_hash, title, mime, metadata, "
            "page_count, chunk_count, ocr FROM documents WHERE id = ANY(%s) "
            "ORDER BY id FOR UPDATE",
            ([a, b],),
        ).fetchall()
    }
    if len(rows) != 2 or a == b:
        raise DocumentNotFound(f"document {a if a not in rows else b} was deleted meanwhile")
    keep, gone = sorted(rows, key=lambda i: (rows[i][8] == 0, i))
    other = b if content_of == a else a
    if rows[content_of][8] == 0 and rows[other][8] > 0:  # never keep "no text" over text
        content_of = other
    k, g = rows[keep], rows[gone]
    replaced = content_of == gone and g[8] > 0  # two records: nothing to take over
    top, bottom = (gone, keep) if (g[8] > 0, gone) > (k[8] > 0, keep) else (keep, gone)
    layers = read_layers(conn, [keep, gone])
    names = conn.execute(
        "SELECT source_uri, reason, content_hash, version, metadata FROM document_sources "
        "WHERE document_id = %s",
        (gone,),
    ).fetchall()
    conn.execute(
        "INSERT INTO collection_documents (collection_id, document_id) "
        "SELECT collection_id, %s FROM collection_documents WHERE document_id = %s "
        "ON CONFLICT DO NOTHING",
        (keep, gone),
    )
    if replaced:
        conn.execute("DELETE FROM chunks WHERE document_id = %s", (keep,))
        conn.execute("UPDATE chunks SET document_id = %s WHERE document_id = %s", (keep, gone))
    conn.execute("DELETE FROM documents WHERE id = %s", (gone,))
    if replaced:
        conn.execute(
            "UPDATE documents SET source_uri = %s, version = %s, content_hash = %s, "
            "title = %s, mime = %s, metadata = %s, page_count = %s, chunk_count = %s, "
            "ocr = %s, indexed_at = now() WHERE id = %s",
            (*g[1:6], Jsonb(g[6]), *g[7:10], keep),
        )
    moved = k if replaced else g  # the name that is no longer the primary one
    if moved[8] > 0 and reason is not None:
        names.append((moved[1], reason, moved[3], moved[2], moved[6]))
    for uri, why, chash, version, metadata in names:
        add_name(
            conn,
            domain_id,
            keep,
            uri,
            reason=why,
            content_hash=chash,
            version=version,
            metadata=metadata,
        )
    for layer in LAYERS:
        low, high = layers.get(bottom, {}).get(layer), layers.get(top, {}).get(layer)
        if low is None and high is None:
            continue
        if layer == "extracted":  # what the kept file says
            mine = layers.get(content_of, {}).get(layer)
            values = mine or low or high or {}
        else:  # a person's or a service's values: united
            values = {**(low or {}), **(high or {})}
            free = {**(low or {}).get("fields", {}), **(high or {}).get("fields", {})}
            if free:
                values["fields"] = free
        if replaced or values != layers.get(keep, {}).get(layer):
            write_layer(conn, keep, layer, values, replace=True)
    if replaced:
        drop_stale_names(conn, keep, g[3])
        refresh_vector(conn, keep)
    return Merged(keep, gone, reason, replaced)


def absorb_records(
    conn: Any,
    domain_id: int,
    document_id: int,
    identifiers: Mapping[str, str | None] | None,
    uris: Iterable[str] = (),
) -> int:
    """The metadata-only records of the domain with these identifiers, or at ``uris``, are
    merged into ``document_id`` (a file of the paper arrived; in the caller's transaction,
    see :func:`merge_documents`: a file's document survives them). How many went."""
    lock_domain(conn, domain_id)
    found = identified(conn, domain_id, identifiers, exclude=document_id)
    records = {s.document_id: s.reason for s in found if not s.has_text}
    for (record,) in conn.execute(
        "SELECT id FROM documents WHERE domain_id = %s AND source_uri = ANY(%s) "
        "AND chunk_count = 0 AND id <> %s ORDER BY id",
        (domain_id, list(dict.fromkeys(uris)), document_id),
    ).fetchall():
        records.setdefault(record, None)
    for record, reason in records.items():
        document_id = merge_documents(
            conn, domain_id, document_id, record, reason, document_id
        ).kept
    return len(records)


def holder(conn: Any, domain_id: int, content_hash: str) -> int | None:
    """The document of the domain holding these bytes: as its content, else as a further
    name (they were merged into a document that kept another file's content)."""
    row = conn.execute(
        "(SELECT id FROM documents WHERE domain_id = %s AND content_hash = %s ORDER BY id "
        "LIMIT 1) UNION ALL (SELECT document_id FROM document_sources WHERE domain_id = %s "
        "AND content_hash = %s ORDER BY added_at DESC LIMIT 1) LIMIT 1",
        (domain_id, content_hash, domain_id, content_hash),
    ).fetchone()
    return None if row is None else int(row[0])


def name_duplicate(
    sm: Any,
    document_id: int,
    source_uri: str,
    *,
    content_hash: str,
    version: str,
    metadata: Mapping[str, Any],
) -> bool:
    """A drop-zone file the ledger found to be the same bytes as an indexed one: its name
    becomes one more name of that document (False when the document no longer holds those
    bytes, or the name is already that document's)."""
    with sm.connection() as conn, conn.transaction():
        row = conn.execute(
            "SELECT domain_id, source_uri FROM documents WHERE id = %s AND content_hash = %s",
            (document_id, content_hash),
        ).fetchone()
        if row is None or row[1] == source_uri:
            return False
        conn.execute(_LOCK, (source_uri, row[0]))  # as index_document for this name
        taken = conn.execute(
            "SELECT 1 FROM documents WHERE domain_id = %s AND source_uri = %s",
            (row[0], source_uri),
        ).fetchone()
        if taken is not None:  # that name is a document of its own: leave it
            return False
        add_name(
            conn,
            row[0],
            document_id,
            source_uri,
            reason="content",
            content_hash=content_hash,
            version=version,
            metadata=metadata,
        )
        return True
