"""The log-in and log-out pages: the library calls the API's session routes make.

``POST /login`` is a plain form post (no JavaScript needed); the password goes to
:func:`tidyllm.access.sessions.login`, which throttles failures per name and per client
address and audits every attempt, exactly as for ``POST /api/v1/login``. A form post
from another site is refused (``Sec-Fetch-Site``/``Origin``), so no one can log a visitor
in under another account.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from tidyllm.access.login import THROTTLED, WINDOW_SECONDS
from tidyllm.access.sessions import authenticate_session, end_session, login
from tidyllm.errors import AuthError
from tidyllm.server.auth import SESSION_COOKIE, client_address
from tidyllm.web.pages import PageError, ViewerDep, local_path, render

router = APIRouter(include_in_schema=False)


def _same_origin(request: Request) -> bool:
    """Whether the browser says the form was posted from one of our pages.

    ``Sec-Fetch-Site`` first (every current browser sends it, and it is not affected by the
    ``Referrer-Policy: no-referrer`` header, under which ``Origin`` is ``null``); else the
    ``Origin``; neither (an old browser, a test client): allowed.
    """
    site = request.headers.get("sec-fetch-site")
    if site is not None:
        return site in ("same-origin", "none")
    origin = request.headers.get("origin")
    if origin is None:
        return True
    return origin == f"{request.url.scheme}://{request.headers.get('host', '')}"


def _cookie_args(request: Request) -> dict:
    return {
        "path": "/",
        "httponly": True,
        "samesite": "lax",
        "secure": request.url.scheme == "https",
    }


@router.get("/")
async def home() -> RedirectResponse:
    return RedirectResponse("/domains", 303)


@router.get("/login")
async def login_page(request: Request, next: str | None = None) -> Response:
    session_id = request.cookies.get(SESSION_COOKIE)
    if session_id:
        try:
            await run_in_threadpool(authenticate_session, request.app.state.sm, session_id)
        except AuthError:
            pass
        else:
            return RedirectResponse(local_path(next), 303)
    return render(request, "login.html", user=None, next=local_path(next), name="", error=None)


@router.post("/login")
async def log_in(
    request: Request,
    name: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=1000)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/domains",
) -> Response:
    if not _same_origin(request):
        raise PageError(403, "cross_site_login", "a log-in from another site is refused")
    sm = request.app.state.sm
    lifetime = timedelta(hours=sm.settings.server.session_hours)
    client = client_address(request)
    target = local_path(next)
    try:
        session = await run_in_threadpool(
            lambda: login(sm, name, password, client, lifetime=lifetime)
        )
    except AuthError as exc:
        throttled = exc.message == THROTTLED
        error = {
            "message": (
                "Too many failed log-ins for this name or from this address."
                if throttled
                else "Wrong user name or password."
            ),
            "hint": (
                f"Wait {WINDOW_SECONDS} seconds, then try again."
                if throttled
                else "Check both and try again."
            ),
        }
        status = 429 if throttled else 401
        headers = {"Retry-After": str(WINDOW_SECONDS)} if throttled else None
        return render(
            request,
            "login.html",
            status,
            headers,
            user=None,
            next=target,
            name=name[:100],
            error=error,
        )
    response = RedirectResponse(target, 303)
    response.set_cookie(
        SESSION_COOKIE,
        session.secret,
        max_age=max(1, int(lifetime.total_seconds())),
        **_cookie_args(request),
    )
    return response


@router.post("/logout")
async def log_out(request: Request, user: ViewerDep) -> Response:
    await run_in_threadpool(
        end_session, request.app.state.sm, user.session_id, client_address(request)
    )
    response = RedirectResponse("/login", 303)
    response.delete_cookie(SESSION_COOKIE, **_cookie_args(request))
    return response
