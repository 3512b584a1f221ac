"""Typed request and response bodies: what the OpenAPI schema promises to clients."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from tidyllm.ids import MAX_ID
from tidyllm.knowledge.catalog import (
    MAX_FILTER_CHARS,
    MAX_TAGS_FILTER,
    DocumentFilter,
    document_filter,
)
from tidyllm.knowledge.collections import MAX_DESCRIPTION, MAX_DOCUMENTS_PER_CALL, NAME_PATTERN
from tidyllm.knowledge.metadata import (
    MAX_AUTHORS,
    MAX_FREE_FIELDS,
    MAX_FREE_VALUE,
    MAX_ITEM,
    MAX_SHORT_TEXT,
    MAX_TAGS,
    MAX_TEXT,
)
from tidyllm.knowledge.search import MAX_K, MAX_QUERY_CHARS


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


FilterText = Annotated[str, Field(max_length=MAX_FILTER_CHARS)]
Year = Annotated[int, Field(ge=1000, le=9999)]


class MetadataFilter(_Model):
    """Document metadata conditions for search, ask and chat (all must hold; none: all)."""

    collection: str | None = Field(
        default=None, max_length=128, description="Only documents in this collection"
    )
    tags: list[FilterText] = Field(
        default_factory=list, max_length=MAX_TAGS_FILTER, description="Documents with each tag"
    )
    author: FilterText | None = Field(
        default=None, description="An author's name contains this (case-insensitive)"
    )
    years: Year | Annotated[str, Field(max_length=40)] | None = Field(
        default=None, description="2020..2024, 2020, 2020.. or ..2024 (inclusive)"
    )
    identifier: FilterText | None = Field(
        default=None, description="doi:..., arxiv:..., isbn:..., url:... or a bare value"
    )

    def where(self) -> DocumentFilter | None:
        """The library's filter (a bad value: its CatalogError, a 400 with a hint)."""
        found = document_filter(
            collection=self.collection,
            tags=self.tags,
            author=self.author,
            years=self.years,
            identifier=self.identifier,
        )
        return None if found.empty else found


class ErrorDetail(_Model):
    code: str
    message: str
    hint: str


class ErrorBody(_Model):
    error: ErrorDetail


class DomainOut(_Model):
    name: str
    description: str
    embedder: str
    language: str
    ocr: bool
    created_at: datetime
    last_ingest_at: datetime | None
    documents: int
    chunks: int
    pages: int


class DomainCreate(_Model):
    name: str = Field(min_length=1, max_length=63, pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")
    description: str = Field(default="", max_length=2000)
    ocr: bool = False


class SearchRequest(MetadataFilter):
    query: str = Field(min_length=1, max_length=MAX_QUERY_CHARS)
    k: int = Field(default=10, ge=1, le=MAX_K)
    mode: Literal["hybrid", "dense", "text"] = "hybrid"
    filters: dict[str, str] = Field(default_factory=dict, max_length=32)


class HitOut(_Model):
    chunk_id: int
    document_id: int
    source_uri: str
    title: str | None
    page: int
    heading: str | None
    text: str
    score: float
    dense_similarity: float | None
    text_score: float | None


class SearchResponse(_Model):
    domain: str
    query: str
    mode: str
    hits: list[HitOut]


class AskRequest(MetadataFilter):
    question: str = Field(min_length=1, max_length=10_000)
    k: int = Field(default=5, ge=1, le=50)
    mode: Literal["hybrid", "dense", "text"] = "hybrid"
    filters: dict[str, str] = Field(default_factory=dict, max_length=32)
    stream: bool = Field(
        default=False,
        description="Server-sent events (progress, delta, answer, citations, done) instead "
        "of JSON; the same as ?stream=true",
    )


class CitationOut(_Model):
    number: int
    source_uri: str | None
    title: str | None
    page: int | None
    quote: str | None


class AnswerOut(_Model):
    question: str
    text: str
    found: bool
    citations: list[CitationOut]
    dropped: int
    provider: str
    model: str | None


# Sessions, the caller, tokens, audit (issue 11: browser sessions and account routes).


class LoginRequest(_Model):
    name: str = Field(min_length=1, max_length=200)
    password: str = Field(min_length=1, max_length=1024)


class MeOut(_Model):
    name: str
    role: Literal["viewer", "editor", "admin"]
    auth: Literal["token", "session"]
    csrf_token: str | None = Field(
        description="The session's CSRF token for X-CSRF-Token (None with a bearer token)"
    )


class LoginOut(_Model):
    user: MeOut
    expires_at: datetime


class TokenCreate(_Model):
    name: str = Field(min_length=1, max_length=100)
    expires: str | None = Field(
        default=None, max_length=20, description="30m, 12h, 90d, 2w; None: until revoked"
    )


class TokenOut(_Model):
    id: int
    user: str
    name: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


class NewTokenOut(_Model):
    token: str = Field(description="The secret: shown this once, stored only as a hash")
    info: TokenOut


class AuditEventOut(_Model):
    id: int
    at: datetime
    actor_id: int | None
    actor_name: str
    action: str
    target: str
    detail: dict[str, Any]
    client: str | None


class UploadOut(_Model):
    """One stored file of an upload: poll ``GET /api/v1/uploads/{id}`` for its state."""

    id: int
    domain: str
    name: str
    size: int
    content_type: str
    state: str


class UploadResponse(_Model):
    files: list[UploadOut]


class UploadEvent(_Model):
    at: datetime
    kind: str
    detail: dict | None


class UploadState(_Model):
    """A file's ledger row as a client needs it, with its history (oldest event first)."""

    id: int
    domain: str | None
    name: str
    size: int
    state: str
    stage: str | None = Field(
        description="While `processing`: the pipeline step it is in (`extract`, `index`, "
        "`report`...); null otherwise or before the first step starts"
    )
    location: str
    attempts: int
    error: dict | None
    detected_at: datetime | None
    finished_at: datetime | None
    events: list[UploadEvent]


# -- documents and zones (routes_documents.py, routes_zones.py) ---------------------------------


class DocumentOut(_Model):
    id: int
    domain: str
    title: str | None
    source_uri: str
    mime: str | None
    pages: int
    chunks: int
    version: str
    content_hash: str
    state: Literal["indexed", "pending", "processing", "failed", "dead"]
    ocr: bool
    indexed_at: datetime
    metadata: dict[str, str]
    zone: str | None = Field(description="The drop zone the document came through, if any")
    file_id: int | None = Field(description="Its ledger file: /api/v1/zones/{zone}/files/{id}")


class DocumentPageOut(_Model):
    documents: list[DocumentOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null: last")


class ReindexOut(_Model):
    document: DocumentOut
    zone: str
    file_ids: list[int] = Field(description="The ledger files that will index it again")


class ZoneOut(_Model):
    name: str
    domain: str | None
    pipeline: str
    enabled: bool
    counts: dict[str, int] = Field(description="Files by ledger state")
    oldest_pending: datetime | None
    finished_last_5_min: int
    finished_last_hour: int


class LedgerFileOut(_Model):
    id: int
    zone: str
    key: str
    state: str
    location: str
    size: int
    sha256: str | None
    attempts: int
    max_attempts: int
    pipeline: str
    pipeline_version: str
    error: dict[str, Any] | None
    result: dict[str, Any] | None
    duplicate_of: int | None
    replaces: int | None
    detected_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None


class LedgerEventOut(_Model):
    id: int
    at: datetime
    kind: str
    worker: str | None
    detail: dict[str, Any]


class FileHistoryOut(_Model):
    file: LedgerFileOut
    events: list[LedgerEventOut]


class RetryOut(_Model):
    file_ids: list[int] = Field(description="The new ledger files, queued for processing")


# -- chat sessions (routes_chat.py) ---------------------------------------------------------------


class ChatCreate(_Model):
    title: str | None = Field(
        default=None, max_length=200, description="None: the first question becomes the title"
    )


class ChatOut(_Model):
    id: str = Field(description="Use in /api/v1/chats/{id}/messages")
    domain: str
    title: str | None
    created_at: datetime
    updated_at: datetime
    messages: int = Field(description="Messages so far, questions and answers")


class ChatTurnRequest(MetadataFilter):
    question: str = Field(min_length=1, max_length=10_000)
    k: int = Field(default=5, ge=1, le=50)
    stream: bool = Field(
        default=False,
        description="Server-sent events (progress, delta, answer, citations, done) instead "
        "of JSON; the same as ?stream=true",
    )


class ChatMessageOut(_Model):
    role: Literal["user", "assistant"]
    content: str
    retrieval_query: str | None = Field(description="What was searched for a question")
    citations: list[CitationOut]
    created_at: datetime


class ChatTurnOut(AnswerOut):
    session_id: str
    retrieval_query: str = Field(description="The question as searched, after the rewrite")


# -- the paper repository: metadata, tags, collections, similar (routes_catalog.py) ------------

Tag = Annotated[str, Field(min_length=1, max_length=MAX_ITEM)]
Author = Annotated[str, Field(max_length=MAX_ITEM)]
ShortText = Annotated[str, Field(max_length=MAX_SHORT_TEXT)]
DocumentIdIn = Annotated[int, Field(ge=1, le=MAX_ID, strict=True)]
CollectionName = Annotated[str, Field(min_length=1, max_length=128, pattern=NAME_PATTERN.pattern)]


class CatalogEntryOut(_Model):
    """A document with its merged metadata, the collections it is in and each field's
    layer (``provenance``: extracted, sidecar, fetched, edited; free fields as
    ``fields.NAME``)."""

    id: int
    domain: str
    source_uri: str
    mime: str | None
    pages: int
    indexed_at: datetime
    title: str | None
    authors: list[str]
    year: int | None
    date: str | None
    doi: str | None
    arxiv_id: str | None
    isbn: str | None
    url: str | None
    abstract: str | None
    tags: list[str]
    notes: str | None
    fields: dict[str, str]
    collections: list[str]
    provenance: dict[str, str]


class CatalogPageOut(_Model):
    domain: str
    filter: dict[str, Any] = Field(description="The conditions applied")
    documents: list[CatalogEntryOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null: last")


class SourceNameOut(_Model):
    source_uri: str
    reason: str | None = Field(
        description="null: the primary name; otherwise why this name is the same document "
        "(content, doi, arxiv)"
    )
    content_hash: str


class DocumentMetadataOut(CatalogEntryOut):
    layers: dict[str, dict[str, Any]] = Field(description="Every layer's own fields")
    names: list[SourceNameOut] = Field(description="Every name of the document, primary first")


class MetadataPatch(_Model):
    """Fields to edit (the ``edited`` layer, kept across re-ingests). A field left out
    stays; ``null`` (or an empty list) clears it; ``fields`` sets free fields by name."""

    title: str | None = Field(default=None, max_length=MAX_TEXT["title"])
    authors: list[Author] | None = Field(default=None, max_length=MAX_AUTHORS)
    year: Year | None = None
    date: ShortText | None = None
    doi: ShortText | None = None
    arxiv_id: ShortText | None = None
    isbn: ShortText | None = None
    url: str | None = Field(default=None, max_length=MAX_TEXT["url"])
    abstract: str | None = Field(default=None, max_length=MAX_TEXT["abstract"])
    tags: list[Tag] | None = Field(default=None, max_length=MAX_TAGS)
    notes: str | None = Field(default=None, max_length=MAX_TEXT["notes"])
    fields: dict[
        Annotated[str, Field(max_length=64)], Annotated[str, Field(max_length=MAX_FREE_VALUE)]
    ] = Field(
        default_factory=dict,
        max_length=MAX_FREE_FIELDS,
        description="Free fields: a letter, then letters, digits, '_', '.' or '-'",
    )


class TagsRequest(_Model):
    tags: list[Tag] = Field(min_length=1, max_length=MAX_TAGS)


class SimilarDocumentOut(_Model):
    document_id: int
    title: str | None
    source_uri: str
    similarity: float = Field(description="Cosine similarity of the document vectors, -1..1")


class SimilarOut(_Model):
    document_id: int
    domain: str
    title: str | None
    k: int
    documents: list[SimilarDocumentOut] = Field(description="Closest first")


class CollectionCreate(_Model):
    name: CollectionName
    description: str = Field(default="", max_length=MAX_DESCRIPTION)


class CollectionOut(_Model):
    id: int
    domain: str
    name: str
    description: str
    documents: int
    created_at: datetime


class CollectionMemberOut(_Model):
    id: int
    title: str | None


class CollectionDetailOut(_Model):
    collection: CollectionOut
    documents: list[CollectionMemberOut] = Field(description="Its first documents, newest first")


class DocumentIds(_Model):
    ids: list[DocumentIdIn] = Field(min_length=1, max_length=MAX_DOCUMENTS_PER_CALL)


class MembershipOut(_Model):
    collection: CollectionOut
    changed: list[int] = Field(description="Added (or removed) by this request")
    unchanged: list[int] = Field(description="Already in (or not in) the collection")


class PairOut(_Model):
    first: int
    second: int
    similarity: float


class CollectionReportOut(_Model):
    domain: str
    collection: str
    documents: list[CollectionMemberOut] = Field(description="The compared documents, by id")
    matrix: list[list[float]] | None = Field(
        description="matrix[i][j]: the similarity of documents i and j (null with matrix=false)"
    )
    pairs: list[PairOut] = Field(description="The closest pairs, closest first")
    without_text: list[int] = Field(description="Members without text to compare")
    truncated: bool = Field(description="Only the first 2,000 documents by id were compared")
    run_key: str | None = Field(description="The MLflow run it was handed to (the outbox)")
    text: str = Field(description="The report as text")
