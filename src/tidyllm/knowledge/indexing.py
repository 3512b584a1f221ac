"""index_document: one extracted document version → chunks with embeddings in PostgreSQL.

Why it is shaped like this:

* **Idempotent per content hash.** The hash is checked before any work and
  again under the lock, so re-indexing unchanged content costs one query and
  changes nothing (not even ``indexed_at``).
* **Atomic replacement.** The old version's chunks are deleted and the new
  ones written in one transaction, under a transaction-scoped advisory lock
  on (domain, source). A concurrent search runs on one snapshot and sees
  either the old version or the new one - never both, never neither.
* **Slow work outside the transaction.** Chunking and embedding happen before
  the transaction opens, so locks are held only for the writes (COPY).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal

from pgvector import HalfVector
from psycopg.types.json import Jsonb

from tidyllm.errors import KnowledgeError
from tidyllm.knowledge import dedup
from tidyllm.knowledge.abbreviations import aliases, find_abbreviations
from tidyllm.knowledge.chunker import Chunk, Chunker
from tidyllm.knowledge.context import chunk_context, document_label
from tidyllm.knowledge.domains import Domain, check_embedder, get_domain
from tidyllm.knowledge.similar import refresh_vector

MAX_URI_CHARS = 4096
MAX_METADATA_ITEMS = 64
_COPY = (
    "COPY chunks (domain_id, document_id, ordinal, page, start_char, end_char, heading, "
    "token_count, text, metadata, dimension, embedding, language, context, aliases) FROM STDIN"
)

Status = Literal["added", "replaced", "unchanged", "duplicate"]


@dataclass(frozen=True)
class IndexedVersion:
    """What :func:`index_document` did.

    ``status`` is ``added`` (a new source), ``replaced`` (a new version of a
    known source, or a newer arXiv version of a known paper; ``replaced_version`` names
    the old one), ``unchanged`` (same content hash: nothing was written) or
    ``duplicate`` (a new name of a document already there - same content, DOI or arXiv
    id - recorded as one more of its names; ``document_id`` is that document's).
    ``timings`` are seconds spent chunking, embedding and writing.
    """

    document_id: int
    domain: str
    source_uri: str
    version: str
    content_hash: str
    status: Status
    chunks: int
    pages: int
    replaced_version: str | None = None
    timings: Mapping[str, float] = field(default_factory=dict)


@lru_cache(maxsize=16)
def chunker_for(chunk_size: int, overlap: int) -> Chunker:
    """A shared chunker per setting (it is thread-safe; loading its tokenizer costs ~40 ms)."""
    return Chunker(chunk_size=chunk_size, overlap=overlap)


def _check_text(label: str, value: object, *, required: bool = True) -> str:
    if not isinstance(value, str):
        raise KnowledgeError(f"{label} must be a string, got {type(value).__name__}")
    if required and not value.strip():
        raise KnowledgeError(f"{label} must not be empty")
    if "\x00" in value:
        raise KnowledgeError(f"{label} must not contain NUL characters")
    if len(value) > MAX_URI_CHARS:
        raise KnowledgeError(f"{label} is longer than {MAX_URI_CHARS} characters")
    return value


def _check_metadata(metadata: Mapping[str, str]) -> dict[str, str]:
    if not isinstance(metadata, Mapping):
        raise KnowledgeError("metadata must be a mapping of str to str")
    if len(metadata) > MAX_METADATA_ITEMS:
        raise KnowledgeError(f"metadata has more than {MAX_METADATA_ITEMS} items")
    clean: dict[str, str] = {}
    for key, value in metadata.items():
        _check_text("metadata key", key)
        _check_text(f"metadata[{key!r}]", value, required=False)
        clean[key] = value
    return clean


def embedding_text(chunk: Chunk, context: str = "") -> str:
    """What is embedded for a chunk: its context (document title, heading), then the text.

    Without a context, the heading alone is put in front when the text does not start with it.
    """
    if context:
        return f"{context}\n{chunk.text}"
    if chunk.heading and chunk.heading not in chunk.text:
        return f"{chunk.heading}\n{chunk.text}"
    return chunk.text


@dataclass(frozen=True)
class ChunkContext:
    """Per chunk: the context embedded and indexed with it, and its abbreviation aliases."""

    context: str
    aliases: str


def chunk_contexts(
    chunks: list[Chunk],
    pages: Any,
    title: str | None,
    source_uri: str,
    contextual: bool,
    with_aliases: bool = True,
) -> list[ChunkContext]:
    """The context of each chunk (title + heading) and its aliases (see abbreviations)."""
    texts = (getattr(page, "text", "") or "" for page in pages)
    pairs = find_abbreviations(texts) if with_aliases else {}
    label = document_label(title, source_uri) if contextual else ""
    return [
        ChunkContext(
            chunk_context(label, chunk.heading) if contextual else "",
            _clean(aliases(chunk.text, pairs)),
        )
        for chunk in chunks
    ]


def _clean(text: str) -> str:
    """PostgreSQL text cannot hold NUL; everything else is stored exactly."""
    return text.replace("\x00", " ")


def index_document(
    sm: Any,
    *,
    domain: str,
    document: Any,
    source_uri: str,
    version: str,
    content_hash: str,
    title: str | None = None,
    metadata: Mapping[str, str] = {},
    force: bool = False,
    contextual: bool = True,
    with_aliases: bool = True,
    identifiers: Mapping[str, str | None] | None = None,
) -> IndexedVersion:
    """Index one version of a document into ``domain``; replaces that source's previous version.

    ``document`` is an :class:`~tidyllm.extraction.ExtractedDocument`.
    ``metadata`` (str → str) is stored on the document and copied to its
    chunks, where search filters match it. ``force`` re-chunks and re-embeds even
    when the source's current version has the same content hash (a deliberate
    re-index; the old chunks are replaced in one transaction). ``contextual=False``
    embeds and indexes the chunks without their title and heading (for measuring what
    the context is worth), ``with_aliases=False`` without abbreviation aliases.
    ``identifiers`` (``doi``, ``arxiv_id``) known before indexing let a new name of a paper
    already there join it (see :mod:`tidyllm.knowledge.dedup`). Raises
    :class:`KnowledgeError` for invalid input or a document without any text,
    :class:`DomainNotFound`, :class:`EmbedderMismatch`.
    """
    _check_text("source_uri", source_uri)
    _check_text("version", version)
    _check_text("content_hash", content_hash)
    if title is not None:
        _check_text("title", title, required=False)
    meta = _check_metadata(metadata)
    pages = getattr(document, "pages", None)
    if pages is None:
        raise KnowledgeError("document must be an ExtractedDocument (it has no pages)")
    title = title if title is not None else getattr(document, "title", None)

    with sm.connection() as conn:
        dom = get_domain(conn, domain)
        row = _current(conn, dom.id, source_uri)
        # No duplicates (issue 13): a further name, or a new name whose content / DOI /
        # arXiv id is already a document here, joins it before anything is embedded.
        same = None if row is not None else _same(conn, dom, source_uri, content_hash, identifiers)
    if row is not None and row[1] == content_hash and not force:
        return _unchanged(dom, source_uri, row)
    if same is not None and same.action == "name":
        joined = _join(sm, dom, source_uri, version, content_hash, meta, identifiers)
        if joined is not None:
            return joined

    embedder = sm.embedder()
    check_embedder(dom, embedder)
    started = time.perf_counter()
    chunks = chunker_for(dom.chunk_size, dom.chunk_overlap).chunk(pages)
    if not chunks:
        raise KnowledgeError(
            f"{source_uri}: the document has no text to index ({len(pages)} page(s), all empty)"
        )
    contexts = chunk_contexts(chunks, pages, title, source_uri, contextual, with_aliases)
    chunked = time.perf_counter()
    vectors = embedder.embed(
        [embedding_text(c, x.context) for c, x in zip(chunks, contexts, strict=True)],
        batch_size=sm.settings.embedder.batch_size,
    )
    embedded = time.perf_counter()
    result = _write(
        sm,
        dom,
        document,
        list(zip(chunks, contexts, strict=True)),
        vectors,
        source_uri,
        version,
        content_hash,
        title,
        meta,
        force,
        identifiers,
    )
    written = time.perf_counter()
    timings = {"chunk": chunked - started, "embed": embedded - chunked, "write": written - embedded}
    return IndexedVersion(**{**result.__dict__, "timings": timings})


def _current(conn: Any, domain_id: int, source_uri: str) -> tuple[Any, ...] | None:
    return conn.execute(
        "SELECT id, content_hash, version, chunk_count, page_count FROM documents "
        "WHERE domain_id = %s AND source_uri = %s",
        (domain_id, source_uri),
    ).fetchone()


def _same(
    conn: Any, dom: Domain, source_uri: str, content_hash: str, identifiers: Any
) -> dedup.Same | None:
    """The document a new ``source_uri`` is the same as (dedup), else None."""
    name = dedup.source_of(conn, dom.id, source_uri)
    if name is not None and name[1] == content_hash:  # a further name, same bytes again
        uri = conn.execute("SELECT source_uri FROM documents WHERE id = %s", (name[0],))
        return dedup.Same(name[0], uri.fetchone()[0], "content", "name")
    return dedup.find_same(conn, dom.id, content_hash, identifiers)


def _join(
    sm: Any,
    dom: Domain,
    source_uri: str,
    version: str,
    content_hash: str,
    meta: dict[str, str],
    identifiers: Any,
) -> IndexedVersion | None:
    """Record ``source_uri`` as one more name of the document it is the same as, decided
    again under the locks; None when that changed meanwhile (then it is indexed)."""
    with sm.connection() as conn, conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, %s))", (source_uri, dom.id))
        dedup.lock_content(conn, dom.id, content_hash)
        if identifiers:
            dedup.lock_domain(conn, dom.id)
        if _current(conn, dom.id, source_uri) is not None:
            return None
        same = _same(conn, dom, source_uri, content_hash, identifiers)
        if same is None or same.action != "name":
            return None
        return _named(conn, dom, same, source_uri, version, content_hash, meta)


def _named(
    conn: Any,
    dom: Domain,
    same: dedup.Same,
    source_uri: str,
    version: str,
    content_hash: str,
    meta: dict[str, str],
) -> IndexedVersion:
    dedup.add_name(
        conn,
        dom.id,
        same.document_id,
        source_uri,
        reason=same.reason,
        content_hash=content_hash,
        version=version,
        metadata=meta,
    )
    row = conn.execute(
        "SELECT id, content_hash, version, chunk_count, page_count FROM documents WHERE id = %s",
        (same.document_id,),
    ).fetchone()
    return IndexedVersion(**{**_unchanged(dom, source_uri, row).__dict__, "status": "duplicate"})


def _unchanged(dom: Domain, source_uri: str, row: tuple[Any, ...]) -> IndexedVersion:
    return IndexedVersion(
        document_id=row[0],
        domain=dom.name,
        source_uri=source_uri,
        version=row[2],
        content_hash=row[1],
        status="unchanged",
        chunks=row[3],
        pages=row[4],
    )


def _write(
    sm: Any,
    dom: Domain,
    document: Any,
    chunks: list[tuple[Chunk, ChunkContext]],
    vectors: Any,
    source_uri: str,
    version: str,
    content_hash: str,
    title: str | None,
    meta: dict[str, str],
    force: bool = False,
    identifiers: Any = None,
) -> IndexedVersion:
    """Replace the source's chunks in one transaction, under a per-source advisory lock."""
    pages = len(document.pages)
    with sm.connection() as conn, conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, %s))", (source_uri, dom.id))
        row = _current(conn, dom.id, source_uri)
        if row is not None and row[1] == content_hash and not force:
            return _unchanged(dom, source_uri, row)  # indexed meanwhile by someone else
        if row is None:  # dedup (issue 13), decided under the locks (see dedup's order)
            dedup.lock_content(conn, dom.id, content_hash)
            if identifiers:
                dedup.lock_domain(conn, dom.id)
            same = _same(conn, dom, source_uri, content_hash, identifiers)
            if same is not None and same.action == "name":  # joined meanwhile
                return _named(conn, dom, same, source_uri, version, content_hash, meta)
            # a further name that now holds other bytes is no longer that document's
            conn.execute(
                "DELETE FROM document_sources WHERE domain_id = %s AND source_uri = %s",
                (dom.id, source_uri),
            )
            if same is not None:  # a newer arXiv version (or a metadata-only record): fill it
                row = dedup.take_over(conn, dom.id, same, source_uri)
        values = (
            version,
            content_hash,
            title,
            getattr(document, "mime", None),
            Jsonb(meta),
            pages,
            len(chunks),
            bool(getattr(document, "ocr", False)),
        )
        if row is None:
            document_id = conn.execute(
                "INSERT INTO documents (version, content_hash, title, mime, metadata, "
                "page_count, chunk_count, ocr, domain_id, source_uri) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
                (*values, dom.id, source_uri),
            ).fetchone()[0]
        else:
            document_id = row[0]
            conn.execute("DELETE FROM chunks WHERE document_id = %s", (document_id,))
            conn.execute(
                "UPDATE documents SET version = %s, content_hash = %s, title = %s, mime = %s, "
                "metadata = %s, page_count = %s, chunk_count = %s, ocr = %s, "
                "indexed_at = now() WHERE id = %s",
                (*values, document_id),
            )
        meta_json = Jsonb(meta)
        with conn.cursor() as cur, cur.copy(_COPY) as copy:
            for (chunk, context), vector in zip(chunks, vectors, strict=True):
                copy.write_row(
                    (
                        dom.id,
                        document_id,
                        chunk.index,
                        chunk.page,
                        chunk.start,
                        chunk.end,
                        None if chunk.heading is None else _clean(chunk.heading),
                        chunk.token_count,
                        _clean(chunk.text),
                        meta_json,
                        dom.dimension,
                        HalfVector(vector),
                        dom.language,
                        _clean(context.context),
                        context.aliases,
                    )
                )
        # issue 13: the document's vector follows its chunks; names of old bytes go
        refresh_vector(conn, document_id)
        dedup.drop_stale_names(conn, document_id, content_hash)
        conn.execute("UPDATE domains SET last_ingest_at = now() WHERE id = %s", (dom.id,))
    return IndexedVersion(
        document_id=document_id,
        domain=dom.name,
        source_uri=source_uri,
        version=version,
        content_hash=content_hash,
        status="added" if row is None else "replaced",
        chunks=len(chunks),
        pages=pages,
        replaced_version=None if row is None else row[2],
    )
