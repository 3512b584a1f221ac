"""Knowledge domains: named collections of documents with one embedder and one chunking setup.

A domain fixes its embedder (name and dimension) when it is created: vectors from
two models are not comparable, so indexing with any other embedder is refused
(:class:`~tidyllm.errors.EmbedderMismatch`) instead of silently mixing them.

Access: the lookups take an optional ``actor`` (None: the operator, who sees everything).
The grant check is part of the SQL that finds the domain (:mod:`tidyllm.access.grants`),
so a domain the actor was not granted is not found, with exactly the error of a domain
that does not exist; a granted domain the actor's role is too weak for raises
:class:`~tidyllm.errors.PermissionDenied`.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg import sql

from tidyllm.access.actor import Actor, acting
from tidyllm.access.audit import record
from tidyllm.access.grants import GRANTED_ROLE, VISIBLE, effective_role, visibility
from tidyllm.access.roles import Role, at_least
from tidyllm.errors import (
    DomainEmpty,
    DomainExists,
    DomainNotFound,
    EmbedderMismatch,
    KnowledgeError,
    PermissionDenied,
)
from tidyllm.knowledge.chunker import Chunker

NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
DEFAULT_CHUNK_SIZE = 200
DEFAULT_OVERLAP = 30
DEFAULT_LANGUAGE = "english"

_COLUMNS = sql.SQL(
    "d.id, d.name, d.description, d.embedder, d.dimension, d.chunk_size, d.chunk_overlap, "
    "d.language::text, d.created_at, d.last_ingest_at, d.ocr"
)
_SELECT_BY_NAME = sql.SQL(
    "SELECT {columns}, {role} FROM domains d WHERE d.name = %(name)s AND {visible}"
).format(columns=_COLUMNS, role=GRANTED_ROLE, visible=VISIBLE)
_VISIBLE_NAMES = sql.SQL("SELECT d.name FROM domains d WHERE {visible} ORDER BY d.name").format(
    visible=VISIBLE
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
_ALL_OCR_FLAGS = "SELECT name, ocr FROM domains"
_LIST = sql.SQL(
    "SELECT {columns}, "
    "coalesce(s.documents, 0), coalesce(s.chunks, 0), coalesce(s.pages, 0) "
    "FROM domains d LEFT JOIN LATERAL ("
    "  SELECT count(*) AS documents, sum(chunk_count) AS chunks, "
    "         sum(page_count) AS pages FROM documents WHERE domain_id = d.id"
    ") s ON true WHERE {visible} ORDER BY d.name"
).format(columns=_COLUMNS, visible=VISIBLE)


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


def domain_not_found(conn: Any, name: str, actor: Actor | None = None) -> DomainNotFound:
    """The error for an unknown domain, with the closest name the actor may see ("did you
    mean").

    Every lookup of a domain by name ends here when it fails (search, ask, chat, ingest,
    show, delete, sync, OCR), so each says the same thing. It depends only on the domains
    the actor sees, so a domain they were not granted answers exactly like a missing one.
    """
    rows = conn.execute(_VISIBLE_NAMES, visibility(actor)).fetchall()
    names = [r[0] for r in rows]
    close = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
    operator = acting(actor).user_id is None
    if close:
        hint = f"; did you mean {close[0]!r}?"
    elif names:
        hint = (
            "; `tidyllm domains list` shows the domains there are"
            if operator
            else "; the domain list shows the domains you can use"
        )
    elif operator:
        hint = f"; no domain exists yet: `tidyllm domains create {name}` creates it"
    else:
        hint = "; no domain is shared with you yet: an admin grants access"
    return DomainNotFound(f"knowledge domain {name!r} does not exist{hint}")


def get_domain(
    conn: Any, name: str, *, actor: Actor | None = None, need: Role = "viewer"
) -> Domain:
    """The domain called ``name`` (on an open connection), as ``actor`` may see it.

    :class:`DomainNotFound` when it does not exist or the actor has no grant on it (the
    same error); :class:`PermissionDenied` when the actor's role there is weaker than
    ``need`` (viewer: read, search, ask; editor: ingest, delete documents; admin: the
    domain itself).
    """
    check_name(name)
    row = conn.execute(_SELECT_BY_NAME, {"name": name, **visibility(actor)}).fetchone()
    if row is None:
        raise domain_not_found(conn, name, actor)
    role = effective_role(actor, row[-1])
    if not at_least(role, need):
        who = acting(actor)
        if need == "admin":
            hint = "only an admin can do this"
        elif not at_least(who.role, need):
            hint = f"an admin can raise the role: `tidyllm users set-role {who.name} {need}`"
        else:
            grant = f"tidyllm grants add {name} --user {who.name} --role {need}"
            hint = f"an admin can grant it: `{grant}`"
        raise PermissionDenied(
            f"user {who.name!r} has the {role} role in domain {name!r}; this needs {need}",
            hint=hint,
        )
    return _row_to_domain(row[:-1])


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
    from tidyllm.knowledge.similar import ensure_document_vector_index  # issue 13

    ensure_document_vector_index(conn, dimension)


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
    actor: Actor | None = None,
) -> Domain:
    """Create a domain bound to the session manager's embedder.

    ``embedder`` names the embedder expected (e.g. ``minilm-l6-v2-int8``); it
    must be the configured one, because that is the only one this process can
    run. ``language`` is a PostgreSQL text-search configuration (``english``,
    ``simple`` for mixed-language collections, ``german``, ...). ``ocr`` turns on
    OCR for scanned pages of files ingested into the domain (see :func:`set_domain_ocr`).
    Creating a domain needs the admin role; with an ``actor`` it is audited.
    """
    if not acting(actor).is_admin:
        raise PermissionDenied("creating a domain needs the admin role", hint="ask an admin")
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
        if row is not None and actor is not None:
            record(conn, actor, "domain.create", f"domain:{name}", {"embedder": model.name})
    if row is None:
        raise DomainExists(f"knowledge domain {name!r} already exists")
    return _row_to_domain(row)


def _check_ocr(ocr: object) -> bool:
    if not isinstance(ocr, bool):
        raise KnowledgeError(f"ocr must be true or false, got {ocr!r}")
    return ocr


def set_domain_ocr(sm: Any, name: str, ocr: bool, *, actor: Actor | None = None) -> Domain:
    """Turn OCR on or off for files ingested into ``name`` from now on; returns the domain.

    The flag lives in PostgreSQL, so every worker on every machine builds the domain's
    ``ingest-<domain>`` zone with the same value. Content already processed is not
    redone (it stays a duplicate); a file that failed for lack of a text layer is
    processed again when it is ingested again. Needs the editor role in the domain.
    """
    check_name(name)
    _check_ocr(ocr)
    with sm.connection() as conn:
        get_domain(conn, name, actor=actor, need="editor")
        row = conn.execute(_SET_OCR, (ocr, name)).fetchone()
        if row is None:
            raise domain_not_found(conn, name)
    return _row_to_domain(row)


def ocr_flags(conn: Any, names: list[str] | None) -> dict[str, bool]:
    """The OCR flag of each named domain that exists (one query; missing names are absent);
    ``names=None``: of every domain."""
    if names is None:
        return dict(conn.execute(_ALL_OCR_FLAGS).fetchall())
    return dict(conn.execute(_OCR_FLAGS, (list(names),)).fetchall())


def list_domains(sm: Any, *, actor: Actor | None = None) -> list[DomainStats]:
    """Every domain the actor may see, with its document and chunk counts, by name."""
    with sm.connection() as conn:
        rows = conn.execute(_LIST, visibility(actor)).fetchall()
    return [DomainStats(_row_to_domain(r[:11]), int(r[11]), int(r[12]), int(r[13])) for r in rows]


_COUNTS = (
    "SELECT count(*), coalesce(sum(chunk_count), 0), coalesce(sum(page_count), 0) "
    "FROM documents WHERE domain_id = %s"
)


def _stats(conn: Any, domain: Domain) -> DomainStats:
    documents, chunks, pages = conn.execute(_COUNTS, (domain.id,)).fetchone()
    return DomainStats(domain, int(documents), int(chunks), int(pages))


def show_domain(sm: Any, name: str, *, actor: Actor | None = None) -> DomainStats:
    """One domain with its document, chunk and page counts."""
    check_name(name)
    with sm.connection() as conn:
        return _stats(conn, get_domain(conn, name, actor=actor))


def require_documents(sm: Any, name: str, *, actor: Actor | None = None) -> None:
    """:class:`DomainEmpty` (saying how to fill it) when ``name`` holds no documents yet."""
    with sm.connection() as conn:
        domain = get_domain(conn, name, actor=actor)
        found = conn.execute(
            "SELECT 1 FROM documents WHERE domain_id = %s LIMIT 1", (domain.id,)
        ).fetchone()
    if found is None:
        raise DomainEmpty(
            f"the domain {name!r} has no documents yet; index files with "
            f"`tidyllm ingest {name} PATH` (PATH: a file, a folder or s3://bucket/prefix)"
        )


def delete_domain(sm: Any, name: str, *, actor: Actor | None = None) -> DomainStats:
    """Delete a domain with its documents, chunks, chat sessions and grants; returns what
    was removed. Needs the admin role; with an ``actor`` it is audited."""
    check_name(name)
    with sm.connection() as conn, conn.transaction():
        stats = _stats(conn, get_domain(conn, name, actor=actor, need="admin"))
        deleted = conn.execute("DELETE FROM domains WHERE id = %s", (stats.domain.id,)).rowcount
        if not deleted:
            raise domain_not_found(conn, name, actor)
        if actor is not None:
            detail = {"documents": stats.documents, "chunks": stats.chunks}
            record(conn, actor, "domain.delete", f"domain:{name}", detail)
    return stats
