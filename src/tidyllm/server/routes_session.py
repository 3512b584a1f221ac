"""Browser log-in and log-out under ``/api/v1``, and who the caller is (``/me``).

``POST /login`` checks the password through the library (throttled and audited there) and
sets an HttpOnly, SameSite=Lax session cookie, Secure when the request came over HTTPS.
The CSRF token the page must echo in ``X-CSRF-Token`` comes back in the body, and again
from ``GET /me`` after a reload. A throttled attempt is a 429 for any name, existing or
not (the library counts failures per name and per address alike), so neither the status
nor the body says whether a user exists.
"""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from tidyllm.access.login import THROTTLED, WINDOW_SECONDS
from tidyllm.access.sessions import csrf_token, end_session, login
from tidyllm.errors import AuthError
from tidyllm.server.auth import (
    SESSION_COOKIE,
    ActorDep,
    SessionDep,
    auth_method,
    client_address,
)
from tidyllm.server.errors import body as error_body
from tidyllm.server.errors import error_responses
from tidyllm.server.models import LoginOut, LoginRequest, MeOut

ERRORS = error_responses(
    (401, "Wrong name or password, or not logged in"),
    (403, "Missing or wrong CSRF token"),
    (422, "Invalid request body"),
    (429, "Too many failed logins for this name or from this address"),
)
router = APIRouter(prefix="/api/v1", tags=["session"], responses=ERRORS)


def _throttled() -> JSONResponse:
    """The answer to a throttled login: the same for every name (429, Retry-After)."""
    hint = f"wait {WINDOW_SECONDS} seconds and try again"
    return JSONResponse(
        error_body("too_many_attempts", THROTTLED, hint),
        429,
        headers={"Retry-After": str(WINDOW_SECONDS)},
    )


def _set_cookie(response: Response, request: Request, secret: str, lifetime: timedelta) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        secret,
        max_age=max(1, int(lifetime.total_seconds())),
        path="/",
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )


@router.post(
    "/login", response_model=LoginOut, summary="Log in: a session cookie and its CSRF token"
)
async def log_in(
    body: LoginRequest, request: Request, response: Response, sm: SessionDep
) -> LoginOut | JSONResponse:
    lifetime = timedelta(hours=sm.settings.server.session_hours)
    client = client_address(request)
    try:
        session = await run_in_threadpool(
            lambda: login(sm, body.name, body.password, client, lifetime=lifetime)
        )
    except AuthError as exc:
        if exc.message == THROTTLED:
            return _throttled()
        raise
    _set_cookie(response, request, session.secret, lifetime)
    actor = session.actor
    user = MeOut(name=actor.name, role=actor.role, auth="session", csrf_token=session.csrf)
    return LoginOut(user=user, expires_at=session.expires_at)


@router.post("/logout", status_code=204, summary="Log out: the session stops working at once")
async def log_out(request: Request, sm: SessionDep, actor: ActorDep) -> Response:
    if auth_method(request) == "session":
        session_id = request.state.session_id
        await run_in_threadpool(end_session, sm, session_id, client_address(request))
    response = Response(status_code=204)
    response.delete_cookie(
        SESSION_COOKIE,
        path="/",
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )
    return response


@router.get("/me", summary="Who you are, and your session's CSRF token")
async def me(request: Request, actor: ActorDep) -> MeOut:
    method = auth_method(request)
    csrf = csrf_token(request.state.session_id) if method == "session" else None
    return MeOut(name=actor.name, role=actor.role, auth=method, csrf_token=csrf)
