"""Typed request and response bodies: what the OpenAPI schema promises to clients."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from tidyllm.knowledge.search import MAX_K, MAX_QUERY_CHARS


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


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


class SearchRequest(_Model):
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


class AskRequest(_Model):
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


class ChatTurnRequest(_Model):
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
