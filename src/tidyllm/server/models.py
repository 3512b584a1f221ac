"""Typed request and response bodies: what the OpenAPI schema promises to clients."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

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
