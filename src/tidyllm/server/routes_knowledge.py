"""Domains, search and ask under ``/api/v1``: each handler calls one library function.

The acting user goes to the library, which filters by grant: a domain the user was not
granted answers exactly like a missing one (404, same body).
"""

from __future__ import annotations

from fastapi import APIRouter, Response
from starlette.concurrency import run_in_threadpool

from tidyllm.answering import ask
from tidyllm.knowledge.domains import (
    DomainStats,
    create_domain,
    delete_domain,
    list_domains,
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
    result = await run_in_threadpool(
        lambda: search(
            sm, name, body.query, k=body.k, mode=body.mode, filters=body.filters, actor=actor
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


@router.post("/domains/{name}/ask", summary="Answer a question with checked citations")
async def ask_domain(name: str, body: AskRequest, sm: SessionDep, actor: ActorDep) -> AnswerOut:
    answer = await run_in_threadpool(
        lambda: ask(
            sm, name, body.question, k=body.k, mode=body.mode, filters=body.filters, actor=actor
        )
    )
    citations = [
        CitationOut(
            number=c.number, source_uri=c.source_uri, title=c.title, page=c.page, quote=c.quote
        )
        for c in answer.citations
    ]
    return AnswerOut(
        question=answer.question,
        text=answer.text,
        found=answer.found,
        citations=citations,
        dropped=len(answer.dropped),
        provider=answer.provider,
        model=answer.model,
    )
