"""Who is asking: an API token in ``Authorization: Bearer ...`` becomes an :class:`Actor`.

Every route but the health checks depends on :func:`current_actor`; the actor is
then passed to the library, which filters by grant, so a route cannot forget the
check. A missing, unknown, revoked or expired token is one and the same 401.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from tidyllm.access import Actor, authenticate_token
from tidyllm.errors import AuthError

_bearer = HTTPBearer(auto_error=False, description="An API token from `tidyllm tokens create`")
_HINT = "send 'Authorization: Bearer <token>'; an admin creates one with `tidyllm tokens create`"


def session_manager(request: Request) -> Any:
    return request.app.state.sm


async def current_actor(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Actor:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise AuthError("authentication required", hint=_HINT)
    sm = request.app.state.sm
    return await run_in_threadpool(authenticate_token, sm, credentials.credentials)


ActorDep = Annotated[Actor, Depends(current_actor)]
SessionDep = Annotated[Any, Depends(session_manager)]
