"""Documents with their metadata: list them filtered, show one, edit fields and tags.

The metadata itself (layers, precedence, bounds) is :mod:`tidyllm.knowledge.metadata`;
this module is what people do with it. :class:`DocumentFilter` (collection, tags, author,
year range, identifier) is the one filter shared by ``docs list`` and retrieval
(``search``, ``ask``, ``chat``, ``eval``): :func:`filter_condition` is its SQL over a
``documents doc`` row joined to its merged ``document_metadata m`` row, and
:func:`matching_documents` resolves it to the document ids retrieval restricts both legs
to.

Every function takes an ``actor`` (None: the operator). A document is found through its
domain with the grant check in the SQL (:data:`~tidyllm.access.grants.VISIBLE`): a
document in a domain the actor was not granted is "not found", exactly like a missing id.
Edits need editor, are written to the ``edited`` layer (kept across re-ingests) and are
audited in the same transaction.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from psycopg import sql

from tidyllm.access.actor import Actor
from tidyllm.access.audit import record
from tidyllm.access.grants import VISIBLE, visibility
from tidyllm.access.roles import Role
from tidyllm.errors import DocumentNotFound
from tidyllm.ids import MAX_ID
from tidyllm.knowledge.collections import CatalogError, collection_id
from tidyllm.knowledge.dedup import SourceName, document_names, same_because
from tidyllm.knowledge.documents import MAX_PAGE, decode_cursor, encode_cursor
from tidyllm.knowledge.domains import Domain, get_domain
from tidyllm.knowledge.metadata import (
    FIELDS,
    LIST_FIELDS,
    MAX_ITEM,
    DocumentMetadata,
    MetadataError,
    clean_text,
    read_layers,
    read_metadata,
    write_layer,
)

MIN_YEAR, MAX_YEAR = 1000, 9999
MAX_FILTER_CHARS = 300
MAX_TAGS_FILTER = 20
IDENTIFIER_KINDS = ("doi", "arxiv", "isbn", "url")
#: what ``docs set`` accepts: every core field (``fields`` is set as ``fields.NAME``)
EDITABLE = tuple(f for f in FIELDS if f != "fields")
_YEARS = re.compile(r"^\s*(\d{1,4})?\s*(\.\.)?\s*(\d{1,4})?\s*$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class DocumentFilter:
    """Which documents: all the given conditions hold (an empty filter matches every one).

    ``tags``: each of them (exact); ``author``: one author's name contains this text
    (case-insensitive); ``year_from``/``year_to``: inclusive bounds; ``identifier``:
    ``doi:…``, ``arxiv:…``, ``isbn:…``, ``url:…`` (exact; a DOI case-insensitive), or a
    bare value matching any of them. Build one with :func:`document_filter`.
    """

    collection: str | None = None
    tags: tuple[str, ...] = ()
    author: str | None = None
    year_from: int | None = None
    year_to: int | None = None
    identifier: str | None = None

    @property
    def empty(self) -> bool:
        return self == DocumentFilter()

    def describe(self) -> dict[str, Any]:
        """The set conditions (for JSON output, traces and cursors)."""
        out: dict[str, Any] = {}
        for name in ("collection", "author", "year_from", "year_to", "identifier"):
            if getattr(self, name) is not None:
                out[name] = getattr(self, name)
        if self.tags:
            out["tags"] = list(self.tags)
        return out


def _text(label: str, value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise CatalogError(f"{label} must be text, not {type(value).__name__}")
    if _CONTROL.search(value) or len(value) > MAX_FILTER_CHARS:
        raise CatalogError(
            f"{label} must be at most {MAX_FILTER_CHARS} characters without control "
            "characters (NUL, line breaks)"
        )
    value = value.strip()
    if not value:
        raise CatalogError(f"{label} is empty")
    return value


def parse_years(text: object) -> tuple[int | None, int | None]:
    """``2020..2024``, ``2020``, ``2020..`` or ``..2024`` → inclusive (from, to)."""
    if isinstance(text, int) and not isinstance(text, bool):
        text = str(text)
    hint = "give YEAR, FROM..TO, FROM.. or ..TO with four-digit years, e.g. 2020..2024"
    if not isinstance(text, str) or len(text) > 40:
        raise CatalogError("the year range is not text of at most 40 characters", hint=hint)
    match = _YEARS.match(text)
    if match is None or (match.group(1) is None and match.group(3) is None):
        raise CatalogError(f"year range {text[:40]!r} is not understood", hint=hint)
    low, dots, high = match.groups()
    if not dots:
        if high is not None:  # "2020 2024"
            raise CatalogError(f"year range {text!r} is not understood", hint=hint)
        high = low
    years = [None if y is None else int(y) for y in (low, high)]
    for year in years:
        if year is not None and not MIN_YEAR <= year <= MAX_YEAR:
            raise CatalogError(f"year {year} is out of range {MIN_YEAR}..{MAX_YEAR}", hint=hint)
    if years[0] is not None and years[1] is not None and years[0] > years[1]:
        raise CatalogError(
            f"year range {text!r} runs backwards", hint=f"did you mean {years[1]}..{years[0]}?"
        )
    return years[0], years[1]


def _identifier(value: object) -> str | None:
    text = _text("identifier", value)
    if text is None:
        return None
    kind, sep, rest = text.partition(":")
    if sep and kind.lower() in IDENTIFIER_KINDS and not rest.startswith("//"):
        if not rest.strip():
            raise CatalogError(f"identifier {text!r} has no value after {kind}:")
        return f"{kind.lower()}:{rest.strip()}"
    return text


def document_filter(
    *,
    collection: str | None = None,
    tags: str | Sequence[str] | None = None,
    author: str | None = None,
    years: str | int | tuple[int | None, int | None] | None = None,
    identifier: str | None = None,
) -> DocumentFilter:
    """A checked :class:`DocumentFilter`; bad values are a :class:`CatalogError` with a hint.

    ``years``: ``"2020..2024"`` (see :func:`parse_years`), one year, or a (from, to) pair.
    """
    if isinstance(tags, str):
        tags = [tags]
    tag_list: list[str] = []
    for tag in tags or ():
        cleaned = _text("tag", tag)
        if cleaned and cleaned not in tag_list:
            tag_list.append(cleaned[:MAX_ITEM])
    if len(tag_list) > MAX_TAGS_FILTER:
        raise CatalogError(f"at most {MAX_TAGS_FILTER} tags in one filter")
    if isinstance(years, tuple):
        low, high = years
        text = f"{'' if low is None else low}..{'' if high is None else high}"
        year_from, year_to = parse_years(text) if years != (None, None) else (None, None)
    else:
        year_from, year_to = (None, None) if years is None else parse_years(years)
    name = _text("collection", collection)
    return DocumentFilter(
        collection=name,
        tags=tuple(tag_list),
        author=_text("author", author),
        year_from=year_from,
        year_to=year_to,
        identifier=_identifier(identifier),
    )


def _like(text: str) -> str:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


_IN_COLLECTION = (
    "EXISTS (SELECT 1 FROM collection_documents cd "
    "WHERE cd.collection_id = %(f_collection)s AND cd.document_id = doc.id)"
)
_IN_COLLECTION_M = _IN_COLLECTION.replace("= doc.id)", "= m.document_id)")
_IDENTIFIER_SQL = {
    "doi": "lower(m.doi) = lower(%(f_identifier)s)",
    "arxiv": "m.arxiv_id = %(f_identifier)s",
    "isbn": "m.isbn = %(f_identifier)s",
    "url": "m.url = %(f_identifier)s",
    None: "(lower(m.doi) = lower(%(f_identifier)s) OR m.arxiv_id = %(f_identifier)s "
    "OR m.isbn = %(f_identifier)s OR m.url = %(f_identifier)s)",
}


def filter_condition(
    conn: Any,
    dom: Domain,
    where: DocumentFilter | None,
    actor: Actor | None = None,
    *,
    on_metadata: bool = False,
) -> tuple[sql.Composable, dict[str, Any]]:
    """SQL (``AND …``, possibly empty) over ``doc`` (documents) and ``m`` (its merged
    metadata, LEFT JOINed) with its parameters; the collection is looked up in ``dom``.
    ``on_metadata``: over ``m`` alone (the document is ``m.document_id``)."""
    if where is None or where.empty:
        return sql.SQL(""), {}
    parts: list[str] = []
    params: dict[str, Any] = {"f_domain_id": dom.id}
    if where.collection is not None:
        params["f_collection"] = collection_id(conn, dom, where.collection, actor)
        parts.append(_IN_COLLECTION_M if on_metadata else _IN_COLLECTION)
    if where.tags:
        parts.append("m.tags @> %(f_tags)s::text[]")
        params["f_tags"] = list(where.tags)
    if where.author is not None:
        parts.append("m.authors_text LIKE %(f_author)s ESCAPE '\\'")
        params["f_author"] = _like(clean_text(where.author, MAX_ITEM))
    if where.year_from is not None:
        parts.append("m.year >= %(f_year_from)s")
        params["f_year_from"] = where.year_from
    if where.year_to is not None:
        parts.append("m.year <= %(f_year_to)s")
        params["f_year_to"] = where.year_to
    if where.identifier is not None:
        kind, sep, rest = where.identifier.partition(":")
        known = kind if sep and kind in IDENTIFIER_KINDS and not rest.startswith("//") else None
        parts.append("m.domain_id = %(f_domain_id)s AND " + _IDENTIFIER_SQL[known])
        params["f_identifier"] = rest if known else where.identifier
    return sql.SQL(" ".join(f"AND {p}" for p in parts)), params


#: A filter matching at most this many documents restricts retrieval by their ids;
#: a broader one is checked per candidate chunk (an array of tens of thousands of ids
#: costs more to build, send and probe than the check).
MAX_ID_LIST = 2000


@dataclass(frozen=True)
class ResolvedFilter:
    """A filter ready for retrieval: the matching ``ids`` (at most :data:`MAX_ID_LIST`),
    or, for a broader filter, ``ids`` None and the ``condition`` (over ``doc`` and ``m``)
    with its ``params``."""

    ids: list[int] | None
    condition: sql.Composable
    params: dict[str, Any]


_MATCHING = (
    "SELECT doc.id FROM documents doc LEFT JOIN document_metadata m "
    "ON m.document_id = doc.id WHERE doc.domain_id = %(domain_id)s {condition} "
)


def resolve_filter(
    conn: Any,
    dom: Domain,
    where: DocumentFilter | None,
    actor: Actor | None = None,
    *,
    max_ids: int | None = None,
) -> ResolvedFilter | None:
    """``where`` for retrieval in ``dom`` (None: no filter); ``max_ids`` defaults to
    :data:`MAX_ID_LIST`."""
    if where is None or where.empty:
        return None
    max_ids = MAX_ID_LIST if max_ids is None else max_ids
    condition, params = filter_condition(conn, dom, where, actor)
    statement = sql.SQL(_MATCHING + "LIMIT %(max_ids)s").format(condition=condition)
    found = conn.execute(statement, {"domain_id": dom.id, "max_ids": max_ids + 1, **params})
    ids = [r[0] for r in found]
    return ResolvedFilter(ids if len(ids) <= max_ids else None, condition, params)


def matching_documents(
    conn: Any, dom: Domain, where: DocumentFilter | None, actor: Actor | None = None
) -> list[int] | None:
    """The ids of ``dom``'s documents the filter matches (None: no filter, all of them)."""
    if where is None or where.empty:
        return None
    condition, params = filter_condition(conn, dom, where, actor)
    statement = sql.SQL(_MATCHING).format(condition=condition)
    return [r[0] for r in conn.execute(statement, {"domain_id": dom.id, **params})]


# --- listing ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CatalogEntry:
    """One document with its merged metadata and the collections it is in."""

    id: int
    domain: str
    source_uri: str
    mime: str | None
    pages: int
    indexed_at: datetime
    metadata: DocumentMetadata
    collections: tuple[str, ...] = ()
    layers: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    names: tuple[SourceName, ...] = ()  # one document's reads: every name, primary first

    @property
    def title(self) -> str | None:
        return self.metadata.title

    def as_json(self) -> dict[str, Any]:
        m = self.metadata
        out: dict[str, Any] = {
            "id": self.id,
            "domain": self.domain,
            "source_uri": self.source_uri,
            "mime": self.mime,
            "pages": self.pages,
            "indexed_at": self.indexed_at.isoformat(),
            "title": m.title,
            "authors": list(m.authors),
            "year": m.year,
            "date": m.date,
            "doi": m.doi,
            "arxiv_id": m.arxiv_id,
            "isbn": m.isbn,
            "url": m.url,
            "abstract": m.abstract,
            "tags": list(m.tags),
            "notes": m.notes,
            "fields": dict(m.fields),
            "collections": list(self.collections),
            "provenance": dict(m.provenance),
        }
        if self.layers:
            out["layers"] = {k: dict(v) for k, v in self.layers.items()}
        if self.names:
            out["names"] = [
                {"source_uri": n.source_uri, "reason": n.reason, "why": same_because(n.reason)}
                for n in self.names
            ]
        return out


@dataclass(frozen=True)
class CatalogPage:
    """One page of ``docs list``; ``next_cursor`` (None on the last page) fetches the next."""

    documents: list[CatalogEntry]
    next_cursor: str | None


_ENTRY = """
SELECT doc.id, doc.source_uri, doc.mime, doc.page_count, doc.indexed_at,
       coalesce(m.title, doc.title), coalesce(m.authors, '{{}}'), m.year, m.date, m.doi,
       m.arxiv_id, m.isbn, m.url, m.abstract, coalesce(m.tags, '{{}}'), m.notes,
       coalesce(m.fields, '{{}}'), coalesce(m.provenance, '{{}}'),
       ARRAY(SELECT c.name FROM collection_documents cd
             JOIN collections c ON c.id = cd.collection_id
             WHERE cd.document_id = doc.id ORDER BY c.name)
"""
_METADATA = "LEFT JOIN document_metadata m ON m.document_id = doc.id "
_FROM = "FROM documents doc " + _METADATA
# A page is found in one of two ways, so that neither a broad nor a rare filter is slow
# (PostgreSQL's estimate for combined conditions - tags AND year AND collection - is often
# far off, and a wrong guess either walks every document in id order or sorts them all):
# 1. the next SCAN_WINDOW documents in id order, filtered: enough when the filter matches
#    more than about limit/SCAN_WINDOW of them (a prefix in id order, so the page is exact);
# 2. otherwise the filter is selective: its matches come from the indexes (GIN tags,
#    trigram authors, year, collection membership) and are sorted ("+ 0" keeps the planner
#    from walking the primary key instead).
SCAN_WINDOW = 2000
_NEXT_IDS = (
    "(SELECT id FROM documents WHERE domain_id = %(domain_id)s "
    "AND (%(after)s::bigint IS NULL OR id < %(after)s) ORDER BY id DESC LIMIT %(window)s) w"
)
_WINDOW = sql.SQL(
    _ENTRY
    + "FROM "
    + _NEXT_IDS
    + " JOIN documents doc ON doc.id = w.id "
    + _METADATA
    + "WHERE true {condition} ORDER BY doc.id DESC LIMIT %(limit)s"
)
_WINDOW_FULL = (
    "SELECT count(*) = %(window)s FROM (SELECT 1 FROM documents WHERE domain_id = %(domain_id)s "
    "AND (%(after)s::bigint IS NULL OR id < %(after)s) ORDER BY id DESC LIMIT %(window)s) w"
)
_BY_IDS = sql.SQL(
    "WITH ids AS MATERIALIZED ({ids}) "
    + _ENTRY
    + "FROM ids JOIN documents doc ON doc.id = ids.id "
    + _METADATA
    + "ORDER BY doc.id DESC"
)
# the ids of a selective filter: from the metadata row's indexes (GIN tags, trigram
# authors, year; collection membership checked per match), or for a collection alone,
# its membership in id order
_SELECTIVE_IDS = sql.SQL(
    "SELECT m.document_id AS id FROM document_metadata m WHERE m.domain_id = %(domain_id)s "
    "AND (%(after)s::bigint IS NULL OR m.document_id < %(after)s) {condition} "
    "ORDER BY m.document_id + 0 DESC LIMIT %(limit)s"
)
_COLLECTION_IDS = sql.SQL(
    "SELECT cd.document_id AS id FROM collection_documents cd "
    "WHERE cd.collection_id = %(f_collection)s "
    "AND (%(after)s::bigint IS NULL OR cd.document_id < %(after)s) "
    "ORDER BY cd.document_id DESC LIMIT %(limit)s"
)

_ONE = sql.SQL(_ENTRY + _FROM + "WHERE doc.id = %(id)s AND doc.domain_id = %(domain_id)s").format()
_IDS_IN_DOMAIN = sql.SQL(
    "SELECT id FROM documents WHERE domain_id = %(domain_id)s AND id = ANY(%(ids)s)"
)


def _entry(domain: str, row: tuple[Any, ...], layers: Mapping | None = None) -> CatalogEntry:
    (doc_id, uri, mime, pages, indexed_at, title, authors, year, date, doi) = row[:10]
    (arxiv_id, isbn, url, abstract, tags, notes, free, provenance, collections) = row[10:19]
    metadata = DocumentMetadata(
        document_id=doc_id,
        title=title,
        authors=tuple(authors),
        year=year,
        date=date,
        doi=doi,
        arxiv_id=arxiv_id,
        isbn=isbn,
        url=url,
        abstract=abstract,
        tags=tuple(tags),
        notes=notes,
        fields=dict(free),
        provenance=dict(provenance),
    )
    return CatalogEntry(
        doc_id, domain, uri, mime, pages, indexed_at, metadata, tuple(collections), layers or {}
    )


def _cursor_tag(domain: str, where: DocumentFilter | None) -> str:
    data = json.dumps(["catalog", domain, (where or DocumentFilter()).describe()], sort_keys=True)
    return hashlib.sha256(data.encode()).hexdigest()[:16]


def _selective(conn: Any, dom: Domain, where: DocumentFilter, actor: Actor | None) -> Any:
    if where.describe().keys() == {"collection"}:
        return _BY_IDS.format(ids=_COLLECTION_IDS)
    condition, _ = filter_condition(conn, dom, where, actor, on_metadata=True)
    return _BY_IDS.format(ids=_SELECTIVE_IDS.format(condition=condition))


def list_catalog(
    sm: Any,
    domain: str,
    *,
    where: DocumentFilter | None = None,
    limit: int = 50,
    cursor: str | None = None,
    actor: Actor | None = None,
) -> CatalogPage:
    """``domain``'s documents the filter matches, newest first, ``limit`` at a time,
    keyset-paged (as :func:`~tidyllm.knowledge.documents.list_documents`: a cursor is
    valid only with the filter it was handed out for)."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE:
        raise CatalogError(f"limit must be 1..{MAX_PAGE}")
    tag = _cursor_tag(domain, where)
    after = None if cursor is None else decode_cursor(cursor, tag)
    with sm.connection() as conn:
        dom = get_domain(conn, domain, actor=actor)
        condition, params = filter_condition(conn, dom, where, actor)
        params |= {"domain_id": dom.id, "after": after, "limit": limit + 1, "window": SCAN_WINDOW}
        rows = conn.execute(_WINDOW.format(condition=condition), params).fetchall()
        if (
            where is not None
            and len(rows) <= limit
            and conn.execute(_WINDOW_FULL, params).fetchone()[0]
        ):  # fewer than a page in a full window: a selective filter
            rows = conn.execute(_selective(conn, dom, where, actor), params).fetchall()
    entries = [_entry(dom.name, r) for r in rows[:limit]]
    more = len(rows) > limit
    return CatalogPage(entries, encode_cursor(entries[-1].id, tag) if more else None)


def catalog_entries(
    sm: Any, domain: str, document_ids: Iterable[int], *, actor: Actor | None = None
) -> list[CatalogEntry]:
    """The entries of ``domain``'s documents among ``document_ids``, newest first (for a
    page that lists documents and shows their metadata; an id of another domain, or one
    deleted meanwhile, is left out, and a domain not granted is its usual 404)."""
    ids = [check_document_id(i) for i in document_ids]
    if not ids:
        return []
    with sm.connection() as conn:
        dom = get_domain(conn, domain, actor=actor)
        query = _BY_IDS.format(ids=_IDS_IN_DOMAIN)
        rows = conn.execute(query, {"domain_id": dom.id, "ids": ids}).fetchall()
    return [_entry(dom.name, r) for r in rows]


# --- one document -----------------------------------------------------------------------------

_DOMAIN_OF = sql.SQL(
    "SELECT d.name FROM documents doc JOIN domains d ON d.id = doc.domain_id "
    "WHERE doc.id = %(id)s AND {visible}"
).format(visible=VISIBLE)


def check_document_id(document_id: object) -> int:
    """An id that may exist; anything else is "not found" (never an SQL overflow)."""
    if isinstance(document_id, bool) or not isinstance(document_id, int):
        raise DocumentNotFound(f"no document {str(document_id)[:40]!r}")
    if not 1 <= document_id <= MAX_ID:
        raise DocumentNotFound(f"no document {document_id}")
    return document_id


def document_domain(
    conn: Any, document_id: int, *, actor: Actor | None = None, need: Role = "viewer"
) -> Domain:
    """The domain of a document the actor may see (else :class:`DocumentNotFound`), with
    the actor's role there checked against ``need``."""
    check_document_id(document_id)
    row = conn.execute(_DOMAIN_OF, {"id": document_id, **visibility(actor)}).fetchone()
    if row is None:
        raise DocumentNotFound(
            f"no document {document_id}; `tidyllm domains list` shows the domains, "
            "and docs list DOMAIN the ids of a domain's documents"
        )
    return get_domain(conn, row[0], actor=actor, need=need)


def _read_entry(conn: Any, dom: Domain, document_id: int) -> CatalogEntry:
    row = conn.execute(
        _ONE,
        {"id": document_id, "domain_id": dom.id},
    ).fetchone()
    if row is None:  # deleted meanwhile
        raise DocumentNotFound(f"no document {document_id}")
    layers = read_layers(conn, [document_id]).get(document_id, {})
    names = tuple(document_names(conn, document_id))
    return replace(_entry(dom.name, row, layers), names=names)


def show_entry(sm: Any, document_id: int, *, actor: Actor | None = None) -> CatalogEntry:
    """One document's metadata, the layer each field came from, every layer, and every
    name it arrived under with why it is the same document (``names``)."""
    with sm.connection() as conn:
        dom = document_domain(conn, document_id, actor=actor)
        return _read_entry(conn, dom, document_id)


def parse_assignments(expressions: Iterable[str]) -> dict[str, Any]:
    """``key=value`` expressions (``docs set``) → the values :func:`set_fields` takes.

    ``authors`` and ``tags`` are lists separated by ``;``; an empty value clears a core
    field; ``fields.NAME=value`` sets a free field.
    """
    out: dict[str, Any] = {}
    for expression in expressions:
        key, sep, value = expression.partition("=")
        key = key.strip()
        if not sep or not key:
            raise CatalogError(
                f"{expression[:60]!r} is not key=value",
                hint=f"e.g. title='A title' or fields.venue=NeurIPS; keys: {', '.join(EDITABLE)}",
            )
        if key in out:
            raise CatalogError(f"{key!r} is given twice")
        out[key] = value
    return out


def _values(assignments: Mapping[str, Any]) -> dict[str, Any]:
    """Assignments (``fields.NAME`` keys, list fields as ``a; b`` text) → layer values."""
    values: dict[str, Any] = {}
    free: dict[str, str] = {}
    for key, value in assignments.items():
        if not isinstance(key, str):
            raise CatalogError(f"field names are text, not {key!r:.40}")
        if key.startswith("fields."):
            if value is None or value == "":
                raise CatalogError(
                    f"{key}: a free field cannot be cleared with an empty value",
                    hint="set it to another value (free fields keep their key)",
                )
            free[key.removeprefix("fields.")] = value
            continue
        if key not in EDITABLE:
            raise CatalogError(
                f"unknown field {key[:64]!r}",
                hint=f"known: {', '.join(EDITABLE)}; anything else as fields.NAME=value",
            )
        if isinstance(value, str) and key in LIST_FIELDS:
            value = [item for item in (i.strip() for i in value.split(";")) if item]
        elif isinstance(value, str) and not value.strip():
            value = None
        values[key] = value
    if free:
        values["fields"] = free
    if not values:
        raise CatalogError("nothing to set", hint="give key=value, e.g. year=2021")
    return values


def _write(conn: Any, document_id: int, values: Mapping[str, Any]) -> DocumentMetadata:
    try:
        return write_layer(conn, document_id, "edited", values, replace=False)
    except MetadataError as exc:
        raise CatalogError(str(exc), hint=exc.hint or "") from None


def set_fields(
    sm: Any, document_id: int, assignments: Mapping[str, Any], *, actor: Actor | None = None
) -> CatalogEntry:
    """Edit fields (editor): ``{"year": "2021", "authors": "A; B", "fields.venue": "X"}``
    or already-typed values. Written to the ``edited`` layer, which a re-ingest keeps."""
    values = _values(assignments)
    with sm.connection() as conn, conn.transaction():
        dom = document_domain(conn, document_id, actor=actor, need="editor")
        _write(conn, document_id, values)
        if actor is not None:
            names = sorted(k for k in values if k != "fields")
            names += sorted(f"fields.{k}" for k in values.get("fields", {}))
            record(
                conn,
                actor,
                "document.edit",
                f"document:{dom.name}/{document_id}",
                {"fields": names},
            )
        return _read_entry(conn, dom, document_id)


def _tags(tags: Iterable[object]) -> list[str]:
    out: list[str] = []
    for tag in tags:
        if not isinstance(tag, str):
            raise CatalogError(f"a tag is text, not {tag!r:.40}")
        cleaned = clean_text(tag, MAX_ITEM)
        if not cleaned:
            raise CatalogError(f"tag {tag[:40]!r} is empty once control characters are removed")
        if cleaned not in out:
            out.append(cleaned)
    if not out:
        raise CatalogError("no tags given", hint="e.g. `tidyllm docs tag 12 risk survey`")
    return out


def _retag(
    sm: Any, document_id: int, tags: Iterable[object], add: bool, actor: Actor | None
) -> CatalogEntry:
    wanted = _tags(tags)
    with sm.connection() as conn, conn.transaction():
        dom = document_domain(conn, document_id, actor=actor, need="editor")
        conn.execute("SELECT 1 FROM documents WHERE id = %s FOR UPDATE", (document_id,))
        current = list(read_metadata(conn, document_id).tags)
        if add:
            new = current + [t for t in wanted if t not in current]
        else:
            new = [t for t in current if t not in wanted]
        if new != current:
            _write(conn, document_id, {"tags": new})
            if actor is not None:
                action = "document.tag" if add else "document.untag"
                record(conn, actor, action, f"document:{dom.name}/{document_id}", {"tags": wanted})
        return _read_entry(conn, dom, document_id)


def tag_document(
    sm: Any, document_id: int, tags: Iterable[str], *, actor: Actor | None = None
) -> CatalogEntry:
    """Add tags (editor); tags it already has are kept once."""
    return _retag(sm, document_id, tags, True, actor)


def untag_document(
    sm: Any, document_id: int, tags: Iterable[str], *, actor: Actor | None = None
) -> CatalogEntry:
    """Remove tags (editor), wherever they came from (the edited layer's list wins)."""
    return _retag(sm, document_id, tags, False, actor)
