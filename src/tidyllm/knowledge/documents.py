"""The documents of a domain: list, show, open the original, delete, re-index.

Every function takes an ``actor`` (None: the operator) and finds the domain through
:func:`~tidyllm.knowledge.domains.get_domain`, so the grant check is in the query: a
domain the actor was not granted is not found, exactly like a missing one. A document is
always looked up by id *and* domain, so another domain's id is "not found" like an id
that does not exist (:class:`~tidyllm.errors.DocumentNotFound`).

A document the ``index`` step made names its ledger file (``version`` is the ledger id,
``metadata`` holds the zone and key); its original is that file's processed/ copy in the
zone's object store. Documents indexed directly (``index_document``) have no original.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tidyllm.access.actor import Actor
from tidyllm.access.audit import record
from tidyllm.errors import (
    DocumentNotFound,
    InvalidCursor,
    KnowledgeError,
    NotReindexable,
    ObjectNotFound,
    OriginalNotKept,
)
from tidyllm.ids import MAX_ID
from tidyllm.knowledge.domains import Domain, get_domain

MAX_PAGE = 200
MAX_FILTER_CHARS = 200
MAX_CURSOR = 1000  # characters of a page cursor (an order's carries a title key)
READ_SIZE = 1024 * 1024  # bytes per chunk when streaming an original

# The state of a document is that of the newest ledger file for its source: a re-index
# or a new version on its way ("pending", "processing") or one that failed ("failed",
# "dead": the indexed version stays). Otherwise, and without a ledger file, "indexed".
_COLUMNS = """
d.id, d.source_uri, d.version, d.content_hash, d.title, d.mime, d.metadata, d.page_count,
d.chunk_count, d.ocr, d.indexed_at,
CASE WHEN f.state IN ('pending', 'processing', 'failed', 'dead') THEN f.state
     ELSE 'indexed' END
FROM documents d LEFT JOIN LATERAL (
    SELECT state FROM files
    WHERE zone = d.metadata ->> 'zone' AND key = d.metadata ->> 'key'
    ORDER BY id DESC LIMIT 1
) f ON true
"""
_LIST = (
    "SELECT "
    + _COLUMNS
    + """
WHERE d.domain_id = %(domain_id)s
  AND (%(after)s::bigint IS NULL OR d.id < %(after)s)
  AND (%(title)s::text IS NULL OR d.title ILIKE %(title)s ESCAPE '\\')
  AND (%(mime)s::text IS NULL OR d.mime = %(mime)s)
ORDER BY d.id DESC LIMIT %(limit)s
"""
)

# Whole-domain orders: name -> (sort key expression, its SQL type). The key is selected as
# the last column so the cursor can carry it; the title sorts by its first TITLE_KEY_CHARS
# characters, lowercased (ties, and untitled documents, by id), which keeps cursors short.
TITLE_KEY_CHARS = 64
_SORT_KEYS = {
    "title": (f"left(lower(coalesce(d.title, '')), {TITLE_KEY_CHARS})", "text"),
    "pages": ("d.page_count", "bigint"),
    "chunks": ("d.chunk_count", "bigint"),
    "indexed_at": ("d.indexed_at", "timestamptz"),
}
ORDERS = tuple(name for key in _SORT_KEYS for name in (key, "-" + key))


def _ordered_list(key: str, descending: bool) -> str:
    """The listing by one sort key (a name from the fixed table above, never user text)."""
    expr, sql_type = _SORT_KEYS[key]
    op, direction = ("<", "DESC") if descending else (">", "ASC")
    return (
        "SELECT "
        + _COLUMNS.replace("\nFROM documents d", f", {expr}\nFROM documents d", 1)
        + f"""
WHERE d.domain_id = %(domain_id)s
  AND (%(after)s::bigint IS NULL OR ({expr}, d.id) {op} (%(key)s::{sql_type}, %(after)s))
  AND (%(title)s::text IS NULL OR d.title ILIKE %(title)s ESCAPE '\\')
  AND (%(mime)s::text IS NULL OR d.mime = %(mime)s)
ORDER BY {expr} {direction}, d.id {direction} LIMIT %(limit)s
"""
    )


_LIST_ORDERED = {name: _ordered_list(name.lstrip("-"), name.startswith("-")) for name in ORDERS}
_ONE = "SELECT " + _COLUMNS + " WHERE d.id = %(id)s AND d.domain_id = %(domain_id)s"
_LOCK_SOURCE = "SELECT pg_advisory_xact_lock(hashtextextended(%s, %s))"  # as index_document
_DELETE = "DELETE FROM documents WHERE id = %s AND domain_id = %s"


@dataclass(frozen=True)
class DocumentInfo:
    """One document as the API shows it; ``zone``/``file_id`` name its ledger file if any."""

    id: int
    domain: str
    source_uri: str
    version: str
    content_hash: str
    title: str | None
    mime: str | None
    metadata: dict[str, str]
    pages: int
    chunks: int
    ocr: bool
    indexed_at: datetime
    state: str

    @property
    def zone(self) -> str | None:
        zone = self.metadata.get("zone")
        return zone if isinstance(zone, str) and self.version.isdigit() else None

    @property
    def file_id(self) -> int | None:
        return int(self.version) if self.zone is not None else None


@dataclass(frozen=True)
class DocumentPage:
    """One page of a listing; ``next_cursor`` (None on the last page) fetches the next."""

    documents: list[DocumentInfo]
    next_cursor: str | None


@dataclass(frozen=True)
class Original:
    """A document's original file: its name as dropped, type, size and a streaming reader."""

    filename: str
    content_type: str
    size: int
    chunks: Iterator[bytes]


@dataclass(frozen=True)
class Reindexed:
    """A re-index request: the document, and the ledger file that will index it again."""

    document: DocumentInfo
    zone: str
    file_ids: list[int]


def _info(domain: Domain, row: tuple[Any, ...]) -> DocumentInfo:
    metadata = {k: v for k, v in (row[6] or {}).items() if isinstance(v, str)}
    return DocumentInfo(row[0], domain.name, *row[1:6], metadata, *row[7:])


def _check_id(document_id: object) -> int:
    """An id that may exist; anything else is "not found" (never an SQL overflow)."""
    if isinstance(document_id, bool) or not isinstance(document_id, int):
        raise DocumentNotFound(f"no document {document_id!r}")
    if not 1 <= document_id <= MAX_ID:
        raise DocumentNotFound(f"no document {document_id}")
    return document_id


def _fetch(conn: Any, domain: Domain, document_id: int) -> DocumentInfo:
    row = conn.execute(_ONE, {"id": _check_id(document_id), "domain_id": domain.id}).fetchone()
    if row is None:
        raise DocumentNotFound(
            f"no document {document_id} in domain {domain.name!r}",
        )
    return _info(domain, row)


def _filter_text(label: str, value: str | None) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or "\x00" in value or len(value) > MAX_FILTER_CHARS:
        raise KnowledgeError(f"{label} must be text of at most {MAX_FILTER_CHARS} characters")
    return value


def _like(text: str | None) -> str | None:
    """``title contains text`` as an ILIKE pattern: the user's ``%`` and ``_`` are literal."""
    if text is None:
        return None
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _query_tag(domain: str, title: str | None, mime: str | None, order: str | None = None) -> str:
    """Binds a cursor to its query: a cursor reused with other filters is refused."""
    data = json.dumps([domain, title, mime] + ([order] if order else [])).encode()
    return hashlib.sha256(data).hexdigest()[:16]


def encode_cursor(after: int, tag: str, key: Any = None) -> str:
    """A page cursor: the last id (and, for an ``order``, its sort key) and the query tag."""
    data: dict[str, Any] = {"v": 1, "after": after, "q": tag}
    if key is not None:
        data = {
            "v": 2,
            "after": after,
            "k": key.isoformat() if isinstance(key, datetime) else key,
            "q": tag,
        }
    raw = json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _bad_cursor() -> InvalidCursor:
    return InvalidCursor(
        "invalid cursor: pass back the next_cursor of the previous page unchanged, "
        "with the same filters and order"
    )


def _cursor_data(cursor: str, tag: str, version: int) -> dict[str, Any]:
    if not isinstance(cursor, str) or not 1 <= len(cursor) <= MAX_CURSOR or not cursor.isascii():
        raise _bad_cursor()
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError):
        raise _bad_cursor() from None
    if not isinstance(data, dict) or data.get("v") != version or data.get("q") != tag:
        raise _bad_cursor()
    after = data.get("after")
    if isinstance(after, bool) or not isinstance(after, int) or not 1 <= after <= MAX_ID:
        raise _bad_cursor()
    return data


def decode_cursor(cursor: str, tag: str) -> int:
    """The id a cursor continues after; :class:`InvalidCursor` for anything else."""
    return _cursor_data(cursor, tag, 1)["after"]


def decode_ordered_cursor(cursor: str, tag: str, order: str) -> tuple[Any, int]:
    """The (sort key, id) an ``order``'s cursor continues after, each of the key's type."""
    data = _cursor_data(cursor, tag, 2)
    key, sql_type = data.get("k"), _SORT_KEYS[order.lstrip("-")][1]
    if sql_type == "bigint":
        ok = not isinstance(key, bool) and isinstance(key, int) and 0 <= key <= MAX_ID
    elif sql_type == "text":
        ok = isinstance(key, str) and len(key) <= TITLE_KEY_CHARS and "\x00" not in key
    else:
        try:
            key = datetime.fromisoformat(key) if isinstance(key, str) and len(key) <= 40 else None
        except ValueError:
            key = None
        ok = key is not None and key.tzinfo is not None
    if not ok:
        raise _bad_cursor()
    return key, data["after"]


def list_documents(
    sm: Any,
    domain: str,
    *,
    actor: Actor | None = None,
    limit: int = 50,
    cursor: str | None = None,
    title: str | None = None,
    mime: str | None = None,
    order: str | None = None,
) -> DocumentPage:
    """The domain's documents, ``limit`` at a time, keyset-paged so a page never repeats or
    skips a document when others are added meanwhile.

    ``order``: None (newest first, by id), or one of :data:`ORDERS`: ``title``, ``pages``,
    ``chunks`` or ``indexed_at``, ascending, or descending with a leading ``-``; ties go by
    id in the same direction (the title: its first 64 characters, case-insensitive).
    ``title``: the title contains this text (case-insensitive); ``mime``: exactly this type.
    A cursor is valid only with the filters and order it was handed out for.
    """
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE:
        raise KnowledgeError(f"limit must be 1..{MAX_PAGE}")
    if order is not None and (not isinstance(order, str) or order not in ORDERS):
        raise KnowledgeError(f"order must be one of {', '.join(ORDERS)}, got {str(order)[:40]!r}")
    title, mime = _filter_text("title", title), _filter_text("mime", mime)
    if order is None:
        tag = _query_tag(domain, title, mime)
        key, after = None, None if cursor is None else decode_cursor(cursor, tag)
        query = _LIST
    else:
        tag = _query_tag(domain, title, mime, order)
        key, after = (None, None) if cursor is None else decode_ordered_cursor(cursor, tag, order)
        query = _LIST_ORDERED[order]
    with sm.connection() as conn:
        dom = get_domain(conn, domain, actor=actor)
        params = {
            "domain_id": dom.id,
            "after": after,
            "key": key,
            "title": _like(title),
            "mime": mime,
            "limit": limit + 1,
        }
        rows = conn.execute(query, params).fetchall()
    if order is not None:
        keys = [r[-1] for r in rows]
        rows = [r[:-1] for r in rows]
    documents = [_info(dom, r) for r in rows[:limit]]
    if len(rows) <= limit:
        return DocumentPage(documents, None)
    last = documents[-1].id
    if order is None:
        return DocumentPage(documents, encode_cursor(last, tag))
    return DocumentPage(documents, encode_cursor(last, tag, keys[limit - 1]))


def show_document(
    sm: Any, domain: str, document_id: int, *, actor: Actor | None = None
) -> DocumentInfo:
    """One document of ``domain`` (viewer)."""
    with sm.connection() as conn:
        return _fetch(conn, get_domain(conn, domain, actor=actor), document_id)


def delete_document(
    sm: Any, domain: str, document_id: int, *, actor: Actor | None = None
) -> DocumentInfo:
    """Remove a document with its chunks (editor); returns what was removed.

    Taken under the source's advisory lock, like :func:`index_document`, so a concurrent
    re-index of the same source finishes before or starts after, never half-way. The
    original stays in its zone's processed/ folder (the zone governs files; dropping the
    same bytes again indexes them again). Audited in the same transaction.
    """
    with sm.connection() as conn, conn.transaction():
        dom = get_domain(conn, domain, actor=actor, need="editor")
        doc = _fetch(conn, dom, document_id)
        conn.execute(_LOCK_SOURCE, (doc.source_uri, dom.id))
        if conn.execute(_DELETE, (doc.id, dom.id)).rowcount == 0:
            raise DocumentNotFound(f"no document {document_id} in domain {domain!r}")
        if actor is not None:
            detail = {"title": doc.title, "chunks": doc.chunks, "version": doc.version}
            record(conn, actor, "document.delete", f"document:{domain}/{doc.id}", detail)
    return doc


def _origin(sm: Any, doc: DocumentInfo) -> tuple[Any, Any] | None:
    """(zone, ledger row) of the file that produced ``doc``, or None (indexed directly).

    The link is believed only when the ledger row is in the zone the metadata names and
    the zone's incoming/ URI of its key is the document's source: metadata alone (which
    ``index_document`` callers may set) never points a download at another file.
    """
    from tidyllm.dropzones.api import UnifiedDropZones
    from tidyllm.dropzones.zone import INCOMING

    if doc.file_id is None:
        return None
    dz = UnifiedDropZones(sm)
    row = dz.ledger.get(doc.file_id)
    zone = dz.find_zone(doc.zone or "")
    if row is None or zone is None or row.zone != zone.name:
        return None
    if zone.store.uri(INCOMING + row.key) != doc.source_uri:
        return None
    return zone, row


# Types a browser renders or runs from this origin; such originals go as octet-stream.
_ACTIVE_SUBTYPES = frozenset({"html", "xhtml+xml", "xml", "javascript", "ecmascript"})


def _content_type(mime: str | None, stored: str | None) -> str:
    """The type to send: the extracted type, else the stored one; never one a browser
    would run as a page or script from this origin (those go as octet-stream)."""
    for candidate in (mime, stored):
        if not candidate or len(candidate) > 100 or not candidate.isascii():
            continue
        main, _, sub = candidate.partition("/")
        if not (main.isalnum() and sub and all(c.isalnum() or c in ".+-_" for c in sub)):
            continue
        sub = sub.lower()
        if sub in _ACTIVE_SUBTYPES or sub.endswith("+xml") or "javascript" in sub:
            return "application/octet-stream"
        return candidate.lower()
    return "application/octet-stream"


def _stream(store: Any, key: str) -> Iterator[bytes]:
    with store.get(key) as data:
        while block := data.read(READ_SIZE):
            yield block


def open_original(
    sm: Any, domain: str, document_id: int, *, actor: Actor | None = None
) -> Original:
    """The original file of a document (viewer), streamed in 1 MiB chunks from the zone's
    store. :class:`OriginalNotKept` when it was indexed directly or the copy is gone."""
    doc = show_document(sm, domain, document_id, actor=actor)
    origin = _origin(sm, doc)
    if origin is None or origin[1].location != "processed" or not origin[1].dest_key:
        raise OriginalNotKept(
            f"the original of document {doc.id} is not kept: only files that came "
            "through a drop zone or `tidyllm ingest` keep one"
        )
    zone, row = origin
    try:
        info = zone.store.head(row.dest_key)
    except ObjectNotFound:
        raise OriginalNotKept(
            f"the original of document {doc.id} is no longer in zone {zone.name!r}"
        ) from None
    filename = row.key.rsplit("/", 1)[-1]
    return Original(
        filename,
        _content_type(doc.mime, info.content_type),
        info.size,
        _stream(zone.store, row.dest_key),
    )


def reindex_document(
    sm: Any, domain: str, document_id: int, *, actor: Actor | None = None
) -> Reindexed:
    """Queue a document to be chunked and embedded again (editor).

    Its original is copied from processed/ back to its zone's incoming/ as a re-index
    (``files.reindex``), so a worker indexes it again even though the content is there,
    with the ledger's guarantees; the document keeps its id (same source). Returns the new
    ledger file(s) to follow. :class:`NotReindexable` for a document without a ledger
    file. Audited (after the ledger rows are written: the copy is not transactional).
    """
    from tidyllm.dropzones.api import UnifiedDropZones

    with sm.connection() as conn:
        doc = _fetch(conn, get_domain(conn, domain, actor=actor, need="editor"), document_id)
    origin = _origin(sm, doc)
    if origin is None:
        raise NotReindexable(
            f"document {doc.id} was not indexed through a drop zone; there is no original "
            "to process again (index it again with `tidyllm ingest --reindex`)"
        )
    zone, row = origin
    new_ids = UnifiedDropZones(sm).reprocess(row.id)
    if actor is not None:
        with sm.connection() as conn, conn.transaction():
            detail = {"zone": zone.name, "file_id": row.id, "new_file_ids": new_ids}
            record(conn, actor, "document.reindex", f"document:{domain}/{doc.id}", detail)
    return Reindexed(doc, zone.name, new_ids)
