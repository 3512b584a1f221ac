"""Document metadata: what a document is, merged from layers, with where each value came from.

A document's metadata (title, authors, year, identifiers, abstract, tags, notes and free
fields) comes from up to four layers, lowest precedence first:

* ``extracted``: what the file says (PDF info dictionary and XMP, identifiers on the first
  pages, the largest-font title; Office core properties), written at every ingest;
* ``fetched``: arXiv or Crossref, written by ``tidyllm papers add``;
* ``sidecar``: ``NAME.meta.json`` next to the file or a folder's manifest, at every ingest;
* ``edited``: a person (``tidyllm docs set``, ``docs tag``), never touched by a re-ingest.

Each layer is stored whole (``document_metadata_layers``); the merged row
(``document_metadata``) is recomputed in the same transaction as every layer write, with
the layer each field came from in ``provenance`` - as settings record their source - so
lists and filters read one indexed row per document. A layer sets a field by naming it;
``None`` in a higher layer clears what lower layers said (an edit can remove a wrong
extracted title).

Every value is bounded and cleaned here, whoever supplies it (a 10 MB abstract, 10,000
authors, control characters): the document still ingests with the bounded value.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from psycopg import sql
from psycopg.types.json import Jsonb

from tidyllm.errors import KnowledgeError

Layer = Literal["extracted", "fetched", "sidecar", "edited"]
LAYERS: tuple[Layer, ...] = ("extracted", "fetched", "sidecar", "edited")  # low -> high

TEXT_FIELDS = ("title", "date", "doi", "arxiv_id", "isbn", "url", "abstract", "notes")
LIST_FIELDS = ("authors", "tags")
FIELDS = (*TEXT_FIELDS, "year", *LIST_FIELDS, "fields")

MAX_TEXT = {"title": 1_000, "abstract": 20_000, "notes": 20_000, "url": 2_000}
MAX_SHORT_TEXT = 200  # date and identifiers
MAX_AUTHORS = 500
MAX_TAGS = 100
MAX_ITEM = 300  # one author or tag
MAX_FREE_FIELDS = 100
MAX_FREE_KEY = 64
MAX_FREE_VALUE = 2_000
FREE_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,63}$")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


class MetadataError(KnowledgeError):
    """A metadata value that cannot be taken (wrong type, unknown field, bad key)."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


@dataclass(frozen=True)
class DocumentMetadata:
    """The merged metadata of one document and the layer each field came from."""

    document_id: int
    title: str | None = None
    authors: tuple[str, ...] = ()
    year: int | None = None
    date: str | None = None
    doi: str | None = None
    arxiv_id: str | None = None
    isbn: str | None = None
    url: str | None = None
    abstract: str | None = None
    tags: tuple[str, ...] = ()
    notes: str | None = None
    fields: Mapping[str, str] = field(default_factory=dict)
    provenance: Mapping[str, Layer] = field(default_factory=dict)


def clean_text(value: str, limit: int) -> str:
    """One line or paragraph of text: NFC, no control characters, spaces collapsed, bounded.

    Line breaks inside a title are layout, not content (the legacy index kept them), so
    every run of whitespace becomes one space.
    """
    text = _CONTROL.sub(" ", unicodedata.normalize("NFC", value))
    return " ".join(text.split())[:limit].strip()


def _text(name: str, value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise MetadataError(f"metadata field {name!r} must be text, not {type(value).__name__}")
    return clean_text(value, MAX_TEXT.get(name, MAX_SHORT_TEXT)) or None


def _year(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or not 1000 <= value <= 9999:
        raise MetadataError(f"year must be a four-digit year, not {value!r}")
    return value


def _items(name: str, value: Any, limit: int) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list | tuple):
        raise MetadataError(f"metadata field {name!r} must be a list of text")
    out: list[str] = []
    for item in value:
        if not isinstance(item, str):
            raise MetadataError(f"every item of {name!r} must be text, not {item!r:.40}")
        cleaned = clean_text(item, MAX_ITEM)
        if cleaned and cleaned not in out:
            out.append(cleaned)
        if len(out) == limit:
            break
    return out


def _free(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise MetadataError("free fields must be a mapping of name to text")
    out: dict[str, str] = {}
    for key, item in value.items():
        if not isinstance(key, str) or not FREE_KEY.match(key):
            raise MetadataError(
                f"free field name {key!r:.70} is not accepted",
                hint="a letter, then letters, digits, '_', '.' or '-' (at most 64)",
            )
        if item is None:
            continue
        if isinstance(item, bool) or not isinstance(item, str | int | float):
            raise MetadataError(f"free field {key!r} must be text or a number")
        out[key] = clean_text(str(item), MAX_FREE_VALUE)
        if len(out) == MAX_FREE_FIELDS:
            break
    return out


def normalise(values: Mapping[str, Any]) -> dict[str, Any]:
    """A layer's fields, checked and bounded; unknown names are a :class:`MetadataError`.

    A field given as ``None`` stays ``None`` (it clears lower layers); ``fields`` merges
    key by key.
    """
    unknown = sorted(set(values) - set(FIELDS))
    if unknown:
        raise MetadataError(
            f"unknown metadata field(s): {', '.join(unknown)}",
            hint=f"known: {', '.join(FIELDS)}; put anything else under 'fields'",
        )
    out: dict[str, Any] = {}
    for name, value in values.items():
        if name in TEXT_FIELDS:
            out[name] = _text(name, value)
        elif name == "year":
            out[name] = _year(value)
        elif name == "authors":
            out[name] = _items(name, value, MAX_AUTHORS)
        elif name == "tags":
            out[name] = _items(name, value, MAX_TAGS)
        else:
            out[name] = _free(value)
    return out


def merge(layers: Mapping[str, Mapping[str, Any]]) -> tuple[dict[str, Any], dict[str, str]]:
    """The merged fields and each field's layer (free fields as ``fields.KEY``)."""
    merged: dict[str, Any] = {}
    provenance: dict[str, str] = {}
    free: dict[str, str] = {}
    for layer in LAYERS:
        for name, value in layers.get(layer, {}).items():
            if name == "fields":
                for key, item in value.items():
                    free[key] = item
                    provenance[f"fields.{key}"] = layer
            else:
                merged[name] = value
                provenance[name] = layer
    for name in [n for n, v in merged.items() if v in (None, [])]:
        del merged[name]
        del provenance[name]
    merged["fields"] = free
    return merged, provenance


_UPSERT_LAYER = (
    "INSERT INTO document_metadata_layers (document_id, layer, fields) VALUES (%s, %s, %s) "
    "ON CONFLICT (document_id, layer) DO UPDATE SET fields = EXCLUDED.fields, updated_at = now()"
)
_MERGED_COLUMNS = (
    "title",
    "authors",
    "year",
    "date",
    "doi",
    "arxiv_id",
    "isbn",
    "url",
    "abstract",
    "tags",
    "notes",
    "fields",
    "provenance",
    "authors_text",
)
_UPSERT_MERGED = sql.SQL(
    "INSERT INTO document_metadata (document_id, domain_id, {columns}) "
    "SELECT d.id, d.domain_id, {values} FROM documents d WHERE d.id = %s "
    "ON CONFLICT (document_id) DO UPDATE SET {updates}"
).format(
    columns=sql.SQL(", ").join(map(sql.Identifier, _MERGED_COLUMNS)),
    values=sql.SQL(", ").join(sql.Placeholder() * len(_MERGED_COLUMNS)),
    updates=sql.SQL(", ").join(
        sql.SQL("{c} = EXCLUDED.{c}").format(c=sql.Identifier(c)) for c in _MERGED_COLUMNS
    ),
)


def write_layer(
    conn: Any, document_id: int, layer: Layer, values: Mapping[str, Any], *, replace: bool
) -> DocumentMetadata:
    """Store ``values`` as ``layer`` of a document and refresh its merged row.

    ``replace=True`` makes ``values`` the whole layer (an ingest re-reading the file);
    otherwise they are merged into it field by field (an edit of one field). Runs in the
    caller's transaction when there is one.
    """
    if layer not in LAYERS:
        raise MetadataError(f"unknown metadata layer {layer!r}")
    checked = normalise(values)
    with conn.transaction():
        current = _layers(conn, document_id, lock=True)
        new = dict(checked) if replace else {**current.get(layer, {}), **checked}
        if not replace and "fields" in checked:
            old_free = current.get(layer, {}).get("fields", {})
            new["fields"] = {**old_free, **checked["fields"]}
        conn.execute(_UPSERT_LAYER, (document_id, layer, Jsonb(new)))
        current[layer] = new
        return _refresh(conn, document_id, current)


def _layers(conn: Any, document_id: int, *, lock: bool = False) -> dict[str, dict[str, Any]]:
    if lock:  # serialise writers of one document (its row), also when it has no layer yet
        found = conn.execute("SELECT id FROM documents WHERE id = %s FOR UPDATE", (document_id,))
        if found.fetchone() is None:
            raise MetadataError(f"no document {document_id}")
    rows = conn.execute(
        "SELECT layer, fields FROM document_metadata_layers WHERE document_id = %s",
        (document_id,),
    )
    return {layer: fields for layer, fields in rows}


def _refresh(
    conn: Any, document_id: int, layers: Mapping[str, Mapping[str, Any]]
) -> DocumentMetadata:
    merged, provenance = merge(layers)
    values = [merged.get(name) for name in ("title",)]
    values += [merged.get("authors", [])]
    values += [merged.get(n) for n in ("year", "date", "doi", "arxiv_id", "isbn", "url")]
    values += [merged.get("abstract"), merged.get("tags", []), merged.get("notes")]
    authors_text = "\n".join(merged.get("authors", [])).lower()
    values += [Jsonb(merged["fields"]), Jsonb(provenance), authors_text, document_id]
    conn.execute(_UPSERT_MERGED, values)
    if any("title" in fields for fields in layers.values()):
        # lists, search results and citations show the document's title; a title a layer
        # cleared (None, and no higher layer sets one) is cleared there too: the name shows
        conn.execute(
            "UPDATE documents SET title = %s WHERE id = %s", (merged.get("title"), document_id)
        )
    return _metadata(document_id, merged, provenance)


def _metadata(document_id: int, merged: Mapping[str, Any], provenance: Mapping) -> DocumentMetadata:
    return DocumentMetadata(
        document_id=document_id,
        title=merged.get("title"),
        authors=tuple(merged.get("authors") or ()),
        year=merged.get("year"),
        date=merged.get("date"),
        doi=merged.get("doi"),
        arxiv_id=merged.get("arxiv_id"),
        isbn=merged.get("isbn"),
        url=merged.get("url"),
        abstract=merged.get("abstract"),
        tags=tuple(merged.get("tags") or ()),
        notes=merged.get("notes"),
        fields=dict(merged.get("fields") or {}),
        provenance=dict(provenance),
    )


def read_metadata(conn: Any, document_id: int) -> DocumentMetadata:
    """A document's merged metadata (empty when nothing is known of it yet)."""
    merged, provenance = merge(_layers(conn, document_id))
    return _metadata(document_id, merged, provenance)


def read_layers(conn: Any, document_ids: Iterable[int]) -> dict[int, dict[str, dict[str, Any]]]:
    """Every layer of each document (for exports and the show command)."""
    out: dict[int, dict[str, dict[str, Any]]] = {}
    rows = conn.execute(
        "SELECT document_id, layer, fields FROM document_metadata_layers "
        "WHERE document_id = ANY(%s)",
        (list(document_ids),),
    )
    for document_id, layer, fields in rows:
        out.setdefault(document_id, {})[layer] = fields
    return out
