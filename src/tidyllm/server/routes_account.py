"""Token self-service and the audit log under ``/api/v1``: each handler calls the library.

Anyone may create, list and revoke their own API tokens (an admin: anyone's); the secret
is in the creation response only. Reading the audit log needs the admin role. Creating
and revoking are audited by the library, in the transaction of the change.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from tidyllm.access import (
    TokenInfo,
    create_token,
    list_tokens,
    parse_duration,
    parse_since,
    read_audit,
    revoke_token,
)
from tidyllm.access.audit import MAX_LIMIT
from tidyllm.errors import AccessError
from tidyllm.ids import MAX_ID
from tidyllm.server.auth import ActorDep, AdminDep, SessionDep
from tidyllm.server.errors import error_responses
from tidyllm.server.models import (
    AuditEventOut,
    NewTokenOut,
    TokenCreate,
    TokenOut,
)

ERRORS = error_responses(
    (400, "Invalid request"),
    (401, "Not authenticated"),
    (403, "Role too low, or a cookie request without its CSRF token"),
    (422, "Invalid request"),
)
router = APIRouter(prefix="/api/v1", tags=["account"], responses=ERRORS)


def _token_out(info: TokenInfo) -> TokenOut:
    return TokenOut(
        id=info.id,
        user=info.user,
        name=info.name,
        created_at=info.created_at,
        expires_at=info.expires_at,
        last_used_at=info.last_used_at,
        revoked_at=info.revoked_at,
    )


@router.post("/tokens", status_code=201, summary="Create an API token for yourself (shown once)")
async def new_token(body: TokenCreate, sm: SessionDep, actor: ActorDep) -> NewTokenOut:
    expires = parse_duration(body.expires, option="expires") if body.expires else None
    created = await run_in_threadpool(
        lambda: create_token(sm, actor.name, body.name, expires=expires, actor=actor)
    )
    return NewTokenOut(token=created.secret, info=_token_out(created.info))


@router.get("/tokens", summary="Your API tokens (an admin: everyone's), never their secrets")
async def tokens(sm: SessionDep, actor: ActorDep) -> list[TokenOut]:
    rows = await run_in_threadpool(lambda: list_tokens(sm, actor=actor))
    return [_token_out(info) for info in rows]


@router.delete(
    "/tokens/{token_id}",
    summary="Revoke one of your tokens (an admin: anyone's); it stops working at once",
    responses=error_responses((404, "No such token of yours")),
)
async def revoke(
    token_id: Annotated[int, Path(ge=1, le=MAX_ID)], sm: SessionDep, actor: ActorDep
) -> TokenOut:
    try:
        info = await run_in_threadpool(lambda: revoke_token(sm, token_id, actor=actor))
    except AccessError as exc:
        if type(exc) is AccessError:  # the library's "does not exist" (or not yours)
            raise HTTPException(404, exc.message) from exc
        raise
    return _token_out(info)


@router.get("/audit", summary="The audit log, oldest first (admin)")
async def audit(
    sm: SessionDep,
    actor: AdminDep,
    user: Annotated[str | None, Query(max_length=100, description="Actor name")] = None,
    since: Annotated[str | None, Query(max_length=40, description="1h, 7d or a date")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Newest N events")] = 1000,
) -> list[AuditEventOut]:
    start = parse_since(since) if since else None
    events = await run_in_threadpool(
        lambda: read_audit(sm, user=user, since=start, limit=limit, actor=actor)
    )
    return [
        AuditEventOut(
            id=e.id,
            at=e.at,
            actor_id=e.actor_id,
            actor_name=e.actor_name,
            action=e.action,
            target=e.target,
            detail=e.detail,
            client=e.client,
        )
        for e in events
    ]
