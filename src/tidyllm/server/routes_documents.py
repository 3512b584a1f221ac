"""Documents of a domain under ``/api/v1/domains/{name}/documents``: one library call each.

The acting user goes to :mod:`tidyllm.knowledge.documents`, which finds the domain
through the grant-checking query: a document of a domain the user was not granted is a
404 exactly like a missing domain, and another domain's document id is a 404 exactly like
an id that does not exist.
"""

from __future__ import annotations

import re
import unicodedata
import urllib.parse
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Response
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from tidyllm.ids import MAX_ID
from tidyllm.knowledge.documents import (
    MAX_CURSOR,
    MAX_FILTER_CHARS,
    MAX_PAGE,
    ORDERS,
    DocumentInfo,
    delete_document,
    list_documents,
    open_original,
    reindex_document,
    show_document,
)
from tidyllm.server.auth import ActorDep, SessionDep
from tidyllm.server.errors import error_responses
from tidyllm.server.models import DocumentOut, DocumentPageOut, ReindexOut

ERRORS = error_responses(
    (400, "Invalid request (a bad cursor or filter)"),
    (401, "No valid token"),
    (403, "Role too low"),
    (404, "No such domain or document"),
    (409, "Conflict"),
    (422, "Invalid parameter"),
)
router = APIRouter(prefix="/api/v1", tags=["documents"], responses=ERRORS)

DocumentId = Annotated[int, Path(ge=1, le=MAX_ID, description="A document id")]
DocumentOrder = Literal[
    "title", "-title", "pages", "-pages", "chunks", "-chunks", "indexed_at", "-indexed_at"
]
assert set(DocumentOrder.__args__) == set(ORDERS)  # the library's orders, and only those
_FALLBACK_UNSAFE = re.compile(r"[^A-Za-z0-9._ ()+-]")
_NAME_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f/\\\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _out(doc: DocumentInfo) -> DocumentOut:
    return DocumentOut(
        id=doc.id,
        domain=doc.domain,
        title=doc.title,
        source_uri=doc.source_uri,
        mime=doc.mime,
        pages=doc.pages,
        chunks=doc.chunks,
        version=doc.version,
        content_hash=doc.content_hash,
        state=doc.state,  # type: ignore[arg-type]
        ocr=doc.ocr,
        indexed_at=doc.indexed_at,
        metadata=doc.metadata,
        zone=doc.zone,
        file_id=doc.file_id,
    )


def content_disposition(filename: str) -> str:
    """``attachment`` with the name as RFC 6266 says: a plain-ASCII ``filename`` for old
    clients and the exact (cleaned) name percent-encoded in ``filename*`` (RFC 5987).

    Control characters, bidi overrides and path separators are replaced first, so the
    header can never be split (CR/LF), closed early (quotes) or name a path.
    """
    name = _NAME_UNSAFE.sub("_", filename).strip(" .") or "document"
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    fallback = _FALLBACK_UNSAFE.sub("_", ascii_name).strip(" .")[:150] or "document"
    encoded = urllib.parse.quote(name, safe="")
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}"


@router.get(
    "/domains/{name}/documents",
    summary="The domain's documents, newest first or in the order asked",
)
async def documents(
    name: str,
    sm: SessionDep,
    actor: ActorDep,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    cursor: Annotated[str | None, Query(max_length=MAX_CURSOR, description="next_cursor")] = None,
    title: Annotated[
        str | None, Query(max_length=MAX_FILTER_CHARS, description="Title contains")
    ] = None,
    mime: Annotated[str | None, Query(max_length=MAX_FILTER_CHARS)] = None,
    order: Annotated[
        DocumentOrder | None,
        Query(description="title, pages, chunks or indexed_at; a leading - for descending"),
    ] = None,
) -> DocumentPageOut:
    page = await run_in_threadpool(
        lambda: list_documents(
            sm,
            name,
            actor=actor,
            limit=limit,
            cursor=cursor,
            title=title,
            mime=mime,
            order=order,
        )
    )
    return DocumentPageOut(
        documents=[_out(d) for d in page.documents], next_cursor=page.next_cursor
    )


@router.get("/domains/{name}/documents/{document_id}", summary="One document")
async def document(
    name: str, document_id: DocumentId, sm: SessionDep, actor: ActorDep
) -> DocumentOut:
    return _out(await run_in_threadpool(show_document, sm, name, document_id, actor=actor))


@router.get(
    "/domains/{name}/documents/{document_id}/original",
    summary="Download the original file (streamed)",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "The original bytes, typed as extracted (HTML, XML, scripts: "
            "application/octet-stream)",
            "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
async def original(
    name: str, document_id: DocumentId, sm: SessionDep, actor: ActorDep
) -> StreamingResponse:
    found = await run_in_threadpool(open_original, sm, name, document_id, actor=actor)
    headers = {
        "Content-Disposition": content_disposition(found.filename),
        "Content-Length": str(found.size),
        "Cache-Control": "private, no-store",
    }
    return StreamingResponse(found.chunks, media_type=found.content_type, headers=headers)


@router.delete(
    "/domains/{name}/documents/{document_id}", status_code=204, summary="Delete (editor)"
)
async def remove(name: str, document_id: DocumentId, sm: SessionDep, actor: ActorDep) -> Response:
    await run_in_threadpool(delete_document, sm, name, document_id, actor=actor)
    return Response(status_code=204)


@router.post(
    "/domains/{name}/documents/{document_id}/reindex",
    status_code=202,
    summary="Chunk and embed again from the original (editor); a worker does it",
)
async def reindex(
    name: str, document_id: DocumentId, sm: SessionDep, actor: ActorDep
) -> ReindexOut:
    done = await run_in_threadpool(reindex_document, sm, name, document_id, actor=actor)
    return ReindexOut(document=_out(done.document), zone=done.zone, file_ids=done.file_ids)
