"""Who is asking: an API token (``Authorization: Bearer ...``) or a browser session cookie.

Every route but the health checks depends on :func:`current_actor`; the actor is
then passed to the library, which filters by grant, so a route cannot forget the
check. A missing, unknown, revoked or expired credential is one and the same 401.

A cookie is sent by the browser on its own, also when another site makes the request,
so a state-changing request (POST, PUT, PATCH, DELETE) authenticated by the cookie must
also carry the session's CSRF token in ``X-CSRF-Token``, which another site cannot read.
A bearer token is never sent implicitly, so it needs none.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Depends, Request
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from tidyllm.access import Actor, authenticate_token
from tidyllm.access.sessions import authenticate_session, csrf_matches
from tidyllm.errors import AuthError, PermissionDenied

SESSION_COOKIE = "tidyllm_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

_bearer = HTTPBearer(auto_error=False, description="An API token from `tidyllm tokens create`")
_cookie = APIKeyCookie(
    name=SESSION_COOKIE,
    auto_error=False,
    description="A browser session from POST /api/v1/login (state changes need X-CSRF-Token)",
)
_HINT = (
    "send 'Authorization: Bearer <token>' (`tidyllm tokens create`) "
    "or log in with POST /api/v1/login"
)


class CsrfRejected(PermissionDenied):
    """A cookie-authenticated state change without the session's CSRF token (403)."""


def session_manager(request: Request) -> Any:
    return request.app.state.sm


def client_address(request: Request) -> str | None:
    """The peer address of the connection (throttling and audit key by it)."""
    return request.client.host if request.client else None


async def current_actor(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    session_id: Annotated[str | None, Depends(_cookie)],
) -> Actor:
    """The token's user if a bearer token is sent, else the session cookie's user."""
    sm = request.app.state.sm
    if credentials is not None:
        request.state.auth = "token"
        return await run_in_threadpool(authenticate_token, sm, credentials.credentials)
    if not session_id:
        raise AuthError("authentication required", hint=_HINT)
    actor = await run_in_threadpool(authenticate_session, sm, session_id)
    if request.method not in SAFE_METHODS and not csrf_matches(
        session_id, request.headers.get(CSRF_HEADER)
    ):
        raise CsrfRejected(
            "missing or wrong CSRF token",
            hint=f"send the csrf_token from login or GET /api/v1/me in {CSRF_HEADER}",
        )
    request.state.auth = "session"
    request.state.session_id = session_id
    return actor


async def admin_actor(actor: Annotated[Actor, Depends(current_actor)]) -> Actor:
    """The actor, if an admin (operations routes: metrics)."""
    if not actor.is_admin:
        raise PermissionDenied("this route needs the admin role", hint="ask an admin")
    return actor


def auth_method(request: Request) -> Literal["token", "session"]:
    """How :func:`current_actor` authenticated this request."""
    return request.state.auth


ActorDep = Annotated[Actor, Depends(current_actor)]
AdminDep = Annotated[Actor, Depends(admin_actor)]
SessionDep = Annotated[Any, Depends(session_manager)]
