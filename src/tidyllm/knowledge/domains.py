"""Knowledge domains: named collections of documents with one embedder and one chunking setup.

A domain fixes its embedder (name and dimension) when it is created: vectors from
two models are not comparable, so indexing with any other embedder is refused
(:class:`~tidyllm.errors.EmbedderMismatch`) instead of silently mixing them.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg import sql

from tidyllm.errors import (
    DomainEmpty,
    DomainExists,
    DomainNotFound,
    EmbedderMismatch,
    KnowledgeError,
)
from tidyllm.knowledge.chunker import Chunker

NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
DEFAULT_CHUNK_SIZE = 200
DEFAULT_OVERLAP = 30
DEFAULT_LANGUAGE = "english"

_SELECT_BY_NAME = (
    "SELECT id, name, description, embedder, dimension, chunk_size, chunk_overlap, "
    "language::text, created_at, last_ingest_at, ocr FROM domains WHERE name = %s"
)
_INSERT = (
    "INSERT INTO domains (name, description, embedder, dimension, chunk_size, chunk_overlap, "
    "language, ocr) VALUES (%s, %s, %s, %s, %s, %s, %s::regconfig, %s) "
    "ON CONFLICT (name) DO NOTHING RETURNING id, name, description, embedder, dimension, "
    "chunk_size, chunk_overlap, language::text, created_at, last_ingest_at, ocr"
)
_SET_OCR = (
    "UPDATE domains SET ocr = %s WHERE name = %s RETURNING id, name, description, embedder, "
    "dimension, chunk_size, chunk_overlap, language::text, created_at, last_ingest_at, ocr"
)
_OCR_FLAGS = "SELECT name, ocr FROM domains WHERE name = ANY(%s)"
_LIST = (
    "SELECT d.id, d.name, d.description, d.embedder, d.dimension, d.chunk_size, "
    "d.chunk_overlap, d.language::text, d.created_at, d.last_ingest_at, d.ocr, "
    "coalesce(s.documents, 0), coalesce(s.chunks, 0), coalesce(s.pages, 0) "
    "FROM domains d LEFT JOIN LATERAL ("
    "  SELECT count(*) AS documents, sum(chunk_count) AS chunks, "
    "         sum(page_count) AS pages FROM documents WHERE domain_id = d.id"
    ") s ON true ORDER BY d.name"
)


@dataclass(frozen=True)
class Domain:
    """One domain row. ``language`` is the PostgreSQL text-search configuration.

    ``ocr`` says whether pages without a text layer are OCR'd when files are ingested
    into the domain (its implicit ``ingest-<domain>`` zone reads it; migration 0004).
    """

    id: int
    name: str
    description: str
    embedder: str
    dimension: int
    chunk_size: int
    chunk_overlap: int
    language: str
    created_at: datetime
    last_ingest_at: datetime | None
    ocr: bool


@dataclass(frozen=True)
class DomainStats:
    """What ``tidyllm domains show`` prints: the domain and its contents."""

    domain: Domain
    documents: int
    chunks: int
    pages: int


def check_name(name: object) -> str:
    """A valid domain name or a clear error (lower-case letters, digits, ``-``, ``_``)."""
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        raise KnowledgeError(
            f"invalid domain name {name!r}: use 1-63 lower-case letters, digits, '-' or '_', "
            "starting with a letter or digit"
        )
    return name


def _row_to_domain(row: tuple[Any, ...]) -> Domain:
    return Domain(*row)


def domain_not_found(conn: Any, name: str) -> DomainNotFound:
    """The error for an unknown domain, with the closest existing name ("did you mean").

    Every lookup of a domain by name ends here when it fails (search, ask, chat, ingest,
    show, delete, sync, OCR), so each says the same thing.
    """
    names = [r[0] for r in conn.execute("SELECT name FROM domains ORDER BY name").fetchall()]
    close = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
    if close:
        hint = f"; did you mean {close[0]!r}?"
    elif names:
        hint = "; `tidyllm domains list` shows the domains there are"
    else:
        hint = f"; no domain exists yet: `tidyllm domains create {name}` creates it"
    return DomainNotFound(f"knowledge domain {name!r} does not exist{hint}")


def get_domain(conn: Any, name: str) -> Domain:
    """The domain called ``name`` (on an open connection) or :class:`DomainNotFound`."""
    check_name(name)
    row = conn.execute(_SELECT_BY_NAME, (name,)).fetchone()
    if row is None:
        raise domain_not_found(conn, name)
    return _row_to_domain(row)


def check_embedder(domain: Domain, embedder: Any) -> None:
    """Refuse an embedder other than the one the domain was created with."""
    if embedder.name != domain.embedder or embedder.dimension != domain.dimension:
        raise EmbedderMismatch(
            f"domain {domain.name!r} holds {domain.dimension}-d vectors from "
            f"{domain.embedder!r}, but the configured embedder is {embedder.name!r} "
            f"({embedder.dimension}-d); vectors from different models are never mixed - "
            "configure that embedder or create a new domain"
        )


def ensure_vector_index(conn: Any, dimension: int) -> None:
    """Create the partial HNSW index for ``dimension`` if it does not exist yet.

    Migration 0003 creates the 384-d one; other embedders (Titan 1024-d,
    OpenAI 1536-d) get theirs when the first domain using them is created.
    """
    if not isinstance(dimension, int) or not 1 <= dimension <= 4000:
        raise KnowledgeError(f"embedding dimension must be 1..4000 for halfvec, got {dimension}")
    conn.execute(
        sql.SQL(
            "CREATE INDEX IF NOT EXISTS {name} ON chunks USING hnsw "
            "((embedding::halfvec({dim})) halfvec_cosine_ops) WHERE dimension = {dim}"
        ).format(
            name=sql.Identifier(f"chunks_embedding_{dimension}_idx"), dim=sql.Literal(dimension)
        )
    )


def create_domain(
    sm: Any,
    name: str,
    *,
    description: str = "",
    embedder: str | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    overlap: int = DEFAULT_OVERLAP,
    language: str = DEFAULT_LANGUAGE,
    ocr: bool = False,
) -> Domain:
    """Create a domain bound to the session manager's embedder.

    ``embedder`` names the embedder expected (e.g. ``minilm-l6-v2-int8``); it
    must be the configured one, because that is the only one this process can
    run. ``language`` is a PostgreSQL text-search configuration (``english``,
    ``simple`` for mixed-language collections, ``german``, ...). ``ocr`` turns on
    OCR for scanned pages of files ingested into the domain (see :func:`set_domain_ocr`).
    """
    check_name(name)
    if not isinstance(description, str):
        raise KnowledgeError("description must be a string")
    _check_ocr(ocr)
    Chunker(chunk_size=chunk_size, overlap=overlap)  # validates both, with clear errors
    model = sm.embedder()
    if embedder is not None and embedder != model.name:
        raise EmbedderMismatch(
            f"embedder {embedder!r} is not the configured embedder {model.name!r}; "
            "set embedder.provider (and embedder.model) to use another one"
        )
    with sm.connection() as conn, conn.transaction():
        known = conn.execute(
            "SELECT 1 FROM pg_ts_config WHERE cfgname = %s", (language,)
        ).fetchone()
        if known is None:
            names = [r[0] for r in conn.execute("SELECT cfgname FROM pg_ts_config ORDER BY 1")]
            raise KnowledgeError(
                f"unknown text-search language {language!r}; choose one of: {', '.join(names)}"
            )
        ensure_vector_index(conn, int(model.dimension))
        row = conn.execute(
            _INSERT,
            (
                name,
                description,
                model.name,
                int(model.dimension),
                chunk_size,
                overlap,
                language,
                ocr,
            ),
        ).fetchone()
    if row is None:
        raise DomainExists(f"knowledge domain {name!r} already exists")
    return _row_to_domain(row)


def _check_ocr(ocr: object) -> bool:
    if not isinstance(ocr, bool):
        raise KnowledgeError(f"ocr must be true or false, got {ocr!r}")
    return ocr


def set_domain_ocr(sm: Any, name: str, ocr: bool) -> Domain:
    """Turn OCR on or off for files ingested into ``name`` from now on; returns the domain.

    The flag lives in PostgreSQL, so every worker on every machine builds the domain's
    ``ingest-<domain>`` zone with the same value. Content already processed is not
    redone (it stays a duplicate); a file that failed for lack of a text layer is
    processed again when it is ingested again.
    """
    check_name(name)
    _check_ocr(ocr)
    with sm.connection() as conn:
        row = conn.execute(_SET_OCR, (ocr, name)).fetchone()
        if row is None:
            raise domain_not_found(conn, name)
    return _row_to_domain(row)


def ocr_flags(conn: Any, names: list[str]) -> dict[str, bool]:
    """The OCR flag of each named domain that exists (one query; missing names are absent)."""
    return dict(conn.execute(_OCR_FLAGS, (list(names),)).fetchall())


def list_domains(sm: Any) -> list[DomainStats]:
    """Every domain with its document and chunk counts, by name."""
    with sm.connection() as conn:
        rows = conn.execute(_LIST).fetchall()
    return [DomainStats(_row_to_domain(r[:11]), int(r[11]), int(r[12]), int(r[13])) for r in rows]


def show_domain(sm: Any, name: str) -> DomainStats:
    """One domain with its document, chunk and page counts."""
    check_name(name)
    with sm.connection() as conn:
        domain = get_domain(conn, name)
        documents, chunks, pages = conn.execute(
            "SELECT count(*), coalesce(sum(chunk_count), 0), coalesce(sum(page_count), 0) "
            "FROM documents WHERE domain_id = %s",
            (domain.id,),
        ).fetchone()
    return DomainStats(domain, int(documents), int(chunks), int(pages))


def require_documents(sm: Any, name: str) -> None:
    """:class:`DomainEmpty` (saying how to fill it) when ``name`` holds no documents yet."""
    with sm.connection() as conn:
        domain = get_domain(conn, name)
        found = conn.execute(
            "SELECT 1 FROM documents WHERE domain_id = %s LIMIT 1", (domain.id,)
        ).fetchone()
    if found is None:
        raise DomainEmpty(
            f"the domain {name!r} has no documents yet; index files with "
            f"`tidyllm ingest {name} PATH` (PATH: a file, a folder or s3://bucket/prefix)"
        )


def delete_domain(sm: Any, name: str) -> DomainStats:
    """Delete a domain with its documents, chunks and chat sessions; returns what was removed."""
    stats = show_domain(sm, name)
    with sm.connection() as conn:
        deleted = conn.execute("DELETE FROM domains WHERE id = %s", (stats.domain.id,)).rowcount
        if not deleted:
            raise domain_not_found(conn, name)
    return stats
