"""``POST /api/v1/uploads/route``: where smart routing would send a file, before it is sent.

The browser reads a chosen file's name, size and first 64 KB (what an upload sniffs) and
asks; the answer names a domain only if the user may upload into it
(:func:`tidyllm.knowledge.routing.route_for`: rules to other domains are as if absent),
with the rule and the conditions that held.
Nothing is stored; the upload itself is the ordinary upload route, which checks again.
"""

from __future__ import annotations

import base64
import binascii

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from tidyllm.errors import KnowledgeError
from tidyllm.knowledge.routing import HEAD_BYTES, route_for
from tidyllm.server.auth import ActorDep, SessionDep
from tidyllm.server.errors import error_responses

MAX_SIZE = 2**53 - 1  # the largest integer a browser's File.size can be
HEAD_CHARS = 4 * ((HEAD_BYTES + 2) // 3)  # base64 of HEAD_BYTES


class RouteRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=1024, description="The file's name")
    size: int = Field(ge=0, le=MAX_SIZE, description="The file's size in bytes")
    head: str = Field(
        max_length=HEAD_CHARS,
        description=f"The file's first bytes (up to {HEAD_BYTES}), base64",
    )


class RouteResponse(BaseModel):
    model_config = ConfigDict(extra="forbid")

    domain: str | None = Field(
        description="The domain the rules chose, one the user may upload into; null: none"
    )
    rule: str | None = Field(description="The rule that chose it; null for the default or none")
    reasons: list[str] = Field(description="Why: each condition that held, or why none applies")
    detected_type: str | None = Field(
        description="The MIME type the first bytes and the name give; null when refused"
    )
    refused: str | None = Field(description="Why an upload of this file would be refused")


class BadHead(KnowledgeError):
    """The ``head`` is not base64, or holds more than the file's size."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.hint = f"send the file's first min(size, {HEAD_BYTES}) bytes, base64-encoded"


router = APIRouter(
    prefix="/api/v1",
    tags=["uploads"],
    responses=error_responses(
        (400, "head is not base64 or is longer than the file"),
        (401, "No valid token"),
        (403, "Role too low (uploading needs editor)"),
    ),
)


def _head(text: str, size: int) -> bytes:
    try:
        head = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise BadHead("head is not valid base64") from None
    if len(head) > min(size, HEAD_BYTES):
        raise BadHead(f"head holds {len(head)} bytes: more than the file's first bytes")
    return head


@router.post(
    "/uploads/route",
    response_model=RouteResponse,
    summary="Where the routing rules would send a file (editor); nothing is stored",
)
async def route(body: RouteRequest, sm: SessionDep, actor: ActorDep) -> RouteResponse:
    head = _head(body.head, body.size)
    answer = await run_in_threadpool(route_for, sm, actor, body.name, body.size, head)
    return RouteResponse(
        domain=answer.decision.domain,
        rule=answer.decision.rule,
        reasons=list(answer.decision.reasons),
        detected_type=answer.detected_type,
        refused=answer.refused,
    )
