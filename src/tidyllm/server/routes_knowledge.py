"""Domains, search and ask under ``/api/v1``: each handler calls one library function.

The acting user goes to the library, which filters by grant: a domain the user was not
granted answers exactly like a missing one (404, same body).

``stream=true`` on ask answers with server-sent events (:mod:`tidyllm.server.sse`). The
domain is checked before the stream starts, so a domain not granted (or still empty) is
the usual JSON error with its status; a later failure is an ``error`` event.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from starlette.concurrency import run_in_threadpool

from tidyllm.access import Actor
from tidyllm.answering import Answer, Citation, ask
from tidyllm.knowledge.catalog import DocumentFilter
from tidyllm.knowledge.collections import collection_id
from tidyllm.knowledge.domains import (
    DomainStats,
    create_domain,
    delete_domain,
    get_domain,
    list_domains,
    require_documents,
    show_domain,
)
from tidyllm.knowledge.search import search
from tidyllm.server.auth import ActorDep, SessionDep
from tidyllm.server.errors import error_responses
from tidyllm.server.models import (
    AnswerOut,
    AskRequest,
    CitationOut,
    DomainCreate,
    DomainOut,
    HitOut,
    SearchRequest,
    SearchResponse,
)
from tidyllm.server.sse import MEDIA_TYPE, Emit, event_stream

ERRORS = error_responses(
    (400, "Invalid request"),
    (401, "No valid token"),
    (403, "Role too low"),
    (404, "No such domain"),
    (409, "Conflict"),
    (422, "Invalid request body"),
)
router = APIRouter(prefix="/api/v1", tags=["knowledge"], responses=ERRORS)


def _domain_out(stats: DomainStats) -> DomainOut:
    d = stats.domain
    return DomainOut(
        name=d.name,
        description=d.description,
        embedder=d.embedder,
        language=d.language,
        ocr=d.ocr,
        created_at=d.created_at,
        last_ingest_at=d.last_ingest_at,
        documents=stats.documents,
        chunks=stats.chunks,
        pages=stats.pages,
    )


@router.get("/domains", summary="The domains you were granted, with counts")
async def domains(sm: SessionDep, actor: ActorDep) -> list[DomainOut]:
    rows = await run_in_threadpool(list_domains, sm, actor=actor)
    return [_domain_out(r) for r in rows]


@router.post("/domains", status_code=201, summary="Create a domain (admin)")
async def new_domain(body: DomainCreate, sm: SessionDep, actor: ActorDep) -> DomainOut:
    await run_in_threadpool(
        create_domain, sm, body.name, description=body.description, ocr=body.ocr, actor=actor
    )
    return _domain_out(await run_in_threadpool(show_domain, sm, body.name, actor=actor))


@router.get("/domains/{name}", summary="One domain with its counts")
async def domain(name: str, sm: SessionDep, actor: ActorDep) -> DomainOut:
    return _domain_out(await run_in_threadpool(show_domain, sm, name, actor=actor))


@router.delete("/domains/{name}", status_code=204, summary="Delete a domain (admin)")
async def remove_domain(name: str, sm: SessionDep, actor: ActorDep) -> Response:
    await run_in_threadpool(delete_domain, sm, name, actor=actor)
    return Response(status_code=204)


@router.post("/domains/{name}/search", summary="Hybrid search in a domain")
async def search_domain(
    name: str, body: SearchRequest, sm: SessionDep, actor: ActorDep
) -> SearchResponse:
    where = body.where()
    result = await run_in_threadpool(
        lambda: search(
            sm,
            name,
            body.query,
            k=body.k,
            mode=body.mode,
            filters=body.filters,
            where=where,
            actor=actor,
        )
    )
    hits = [
        HitOut(
            chunk_id=h.chunk_id,
            document_id=h.document_id,
            source_uri=h.source_uri,
            title=h.title,
            page=h.page,
            heading=h.heading,
            text=h.text,
            score=h.score,
            dense_similarity=h.dense_similarity,
            text_score=h.text_score,
        )
        for h in result.hits
    ]
    return SearchResponse(domain=result.domain, query=result.query, mode=result.mode, hits=hits)


STREAM_DOC = (
    "With stream=true: server-sent events, in order: `progress` {stage: retrieving}, "
    "`progress` {stage: answering}, `delta` {text} (zero or more: the model's draft as it "
    "is written, citations not yet checked; only with a remote LLM), `answer` {text} (the "
    "checked answer, whole), `citations` {citations, dropped}, `done` {found, provider, "
    "model}; a failure after the stream started is one `error` event in the error shape, "
    "and the stream ends."
)
SSE_EVENT = {
    "type": "object",
    "properties": {"event": {"type": "string"}, "data": {"type": "string"}},
    "required": ["event", "data"],
}
STREAMED = {
    200: {
        "description": "The answer (JSON), or with stream=true server-sent events",
        # OpenAPI 3.1: the schema of a text/event-stream describes each event
        "content": {MEDIA_TYPE: {"schema": SSE_EVENT}},
    }
}


def citations_out(citations: Iterable[Citation]) -> list[CitationOut]:
    return [
        CitationOut(
            number=c.number, source_uri=c.source_uri, title=c.title, page=c.page, quote=c.quote
        )
        for c in citations
    ]


def answer_out(answer: Answer) -> AnswerOut:
    return AnswerOut(
        question=answer.question,
        text=answer.text,
        found=answer.found,
        citations=citations_out(answer.citations),
        dropped=len(answer.dropped),
        provider=answer.provider,
        model=answer.model,
    )


def streamed(emit: Emit | None) -> dict[str, Any]:
    """``progress`` and ``on_text`` for the library call that ``emit`` streams: each stage a
    ``progress`` event, each piece of the model's draft a ``delta`` event (none: no stream)."""
    if emit is None:
        return {"progress": None, "on_text": None}
    return {
        "progress": lambda stage: emit("progress", {"stage": stage}),
        "on_text": lambda text: emit("delta", {"text": text}),
    }


def emit_answer(emit: Emit, out: AnswerOut, **done: Any) -> None:
    """The closing events of a streamed answer: the checked text, citations, done."""
    emit("answer", {"text": out.text})
    emit(
        "citations", {"citations": [c.model_dump() for c in out.citations], "dropped": out.dropped}
    )
    emit("done", {"found": out.found, "provider": out.provider, "model": out.model, **done})


def require_collection(sm: Any, name: str, where: DocumentFilter | None, actor: Actor) -> None:
    """The filter's collection exists in domain ``name`` (else its 404), checked before a
    stream starts so that it is a JSON error and not an ``error`` event."""
    if where is not None and where.collection is not None:
        with sm.connection() as conn:
            collection_id(conn, get_domain(conn, name, actor=actor), where.collection, actor)


def _ask(
    sm: Any,
    name: str,
    body: AskRequest,
    actor: Actor,
    emit: Emit | None = None,
    where: DocumentFilter | None = None,
) -> Answer:
    return ask(
        sm,
        name,
        body.question,
        k=body.k,
        mode=body.mode,
        filters=body.filters,
        where=where,
        actor=actor,
        **streamed(emit),
    )


def _stream_answer(sm: Any, name: str, body: AskRequest, actor: Actor, emit: Emit) -> None:
    """The events of one streamed answer: the stages, the model's draft as ``delta`` events
    while a remote LLM writes it, then the checked text whole in one ``answer`` event
    (citations are verified on the complete text, so the draft may differ from it)."""
    emit_answer(emit, answer_out(_ask(sm, name, body, actor, emit, body.where())))


@router.post(
    "/domains/{name}/ask",
    summary="Answer a question with checked citations",
    description=STREAM_DOC,
    response_model=AnswerOut,
    responses=STREAMED,
)
async def ask_domain(
    name: str,
    body: AskRequest,
    sm: SessionDep,
    actor: ActorDep,
    stream: Annotated[bool, Query(description="Server-sent events instead of JSON")] = False,
) -> Response | AnswerOut:
    where = body.where()  # a bad filter is a 400 before any stream
    if not (stream or body.stream):
        return answer_out(await run_in_threadpool(_ask, sm, name, body, actor, None, where))
    await run_in_threadpool(lambda: require_documents(sm, name, actor=actor))
    await run_in_threadpool(require_collection, sm, name, where, actor)
    return event_stream(
        lambda emit: _stream_answer(sm, name, body, actor, emit), where=f"POST ask {name!r}"
    )
