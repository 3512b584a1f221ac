"""Uploads under ``/api/v1``: multipart files streamed into a domain's ingest zone.

The body is never read here: :mod:`tidyllm.server.streaming` parses it chunk by chunk
in the worker thread that runs :func:`tidyllm.knowledge.uploads.upload_file`, so a
file is never whole in memory or on a temp disk, and the size limit holds while it
streams. 201 means every file is in the ledger and the object store. A client that
stops sending for ``server.upload_idle_seconds`` gets a 408 and its connection closed.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from tidyllm.access import Actor
from tidyllm.dropzones.api import INGEST_ZONE_PREFIX
from tidyllm.dropzones.ledger import current_stage
from tidyllm.errors import TidyLLMError
from tidyllm.knowledge.uploads import check_editor, upload_file, upload_history
from tidyllm.server.auth import ActorDep, SessionDep
from tidyllm.server.errors import described, error_responses
from tidyllm.server.models import (
    UploadEvent,
    UploadOut,
    UploadResponse,
    UploadState,
)
from tidyllm.server.streaming import (
    BadUpload,
    MultipartBody,
    UploadTimedOut,
    boundary_of,
    drain,
)

ERRORS = error_responses(
    (400, "Not a multipart upload, no file, or a refused name or type"),
    (401, "No valid token"),
    (403, "Role too low"),
    (404, "No such domain or upload"),
    (409, "A file of that name is still waiting"),
    (413, "A file is larger than server.max_upload_bytes"),
)
router = APIRouter(prefix="/api/v1", tags=["uploads"], responses=ERRORS)

_BODY_DOC = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "file": {"type": "array", "items": {"type": "string", "format": "binary"}}
                    },
                    "required": ["file"],
                }
            }
        },
    }
}


def _receive(
    sm: Any, domain: str, body: MultipartBody, actor: Actor, client: str | None
) -> list[UploadOut]:
    """Store each file part in order (run in a worker thread: it pulls the body itself)."""
    check_editor(sm, domain, actor)  # before a byte of the body is read
    out = []
    while (part := body.next_file()) is not None:
        up = upload_file(sm, domain, part, part.filename, actor=actor, client=client)
        out.append(_out(up))
    if not out:
        raise BadUpload("the upload holds no file", hint="send at least one file field")
    return out


def _out(up: Any) -> UploadOut:
    return UploadOut(
        id=up.id,
        domain=up.domain,
        name=up.name,
        size=up.size,
        content_type=up.content_type,
        state="pending",
    )


@router.post(
    "/domains/{name}/uploads",
    status_code=201,
    response_model=UploadResponse,
    responses=error_responses(
        (408, "The client sent nothing for server.upload_idle_seconds (connection closed)")
    ),
    summary="Upload files into a domain (editor), streamed",
    openapi_extra=_BODY_DOC,
)
async def upload(
    name: str, request: Request, sm: SessionDep, actor: ActorDep
) -> UploadResponse | JSONResponse:
    boundary = boundary_of(request.headers.get("content-type"))
    settings = sm.settings.server
    body = MultipartBody(
        request.stream(), boundary, settings.max_upload_bytes, settings.upload_idle_seconds
    )
    client = request.client.host if request.client else None
    try:
        files = await run_in_threadpool(_receive, sm, name, body, actor, client)
    except UploadTimedOut as exc:
        # the one error shape, as a 408; closing the connection frees it for good (the
        # body's unread rest would otherwise keep it half-used until the client gives up)
        _, content = described(exc, f"{request.method} {request.url.path}")
        return JSONResponse(content, 408, headers={"Connection": "close"})
    except TidyLLMError:
        # the rest, so the client gets the error, not a reset
        await drain(body.chunks, settings.upload_idle_seconds)
        raise
    return UploadResponse(files=files)


@router.get("/uploads/{file_id}", summary="An uploaded file's state and history")
async def upload_state(file_id: int, sm: SessionDep, actor: ActorDep) -> UploadState:
    history = await run_in_threadpool(upload_history, sm, file_id, actor=actor)
    row = history["file"]
    zone = row["zone"]
    return UploadState(
        id=row["id"],
        domain=zone[len(INGEST_ZONE_PREFIX) :] if zone.startswith(INGEST_ZONE_PREFIX) else None,
        name=row["key"].removeprefix("upload/"),
        size=row["size"],
        state=row["state"],
        stage=current_stage(row["state"], history["events"]),
        location=row["location"],
        attempts=row["attempts"],
        error=row["error"],
        detected_at=row["detected_at"],
        finished_at=row["finished_at"],
        events=[
            UploadEvent(at=e["at"], kind=e["kind"], detail=e["detail"]) for e in history["events"]
        ],
    )
