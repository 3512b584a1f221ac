"""What every page shares: the templates, who is logged in, CSRF, and errors as pages.

A page is authenticated by the API's browser session cookie only (a bearer token is for
programs). Without a live session a page redirects to the log-in page; an htmx fragment
request is answered 401 with ``HX-Redirect`` so the browser goes there as a whole.

A state-changing page request (POST) must carry the session's CSRF token, either in
``X-CSRF-Token`` (htmx sends it from the ``hx-headers`` of ``<body>``) or in a
``csrf_token`` form field (the log-out form): the same token the API checks.

Library errors become an HTML page (or, for htmx, a small fragment) with the status the
API gives the same error (:func:`tidyllm.server.errors.described`), so a page a user may
not use is refused exactly as the API refuses it: 403, or 404 for a domain not granted.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, StrictUndefined
from starlette.concurrency import run_in_threadpool

from tidyllm import __version__
from tidyllm.access import Actor
from tidyllm.access.sessions import authenticate_session, csrf_matches, csrf_token
from tidyllm.errors import AuthError, TidyLLMError
from tidyllm.server.auth import CSRF_HEADER, SESSION_COOKIE
from tidyllm.server.errors import described

T = TypeVar("T")

templates = Environment(
    loader=PackageLoader("tidyllm.web", "templates"),
    autoescape=True,  # every template, whatever its name: user text is always escaped
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
templates.globals["version"] = __version__


class LoginRequired(Exception):
    """No live session: the page answers with a redirect to the log-in page."""

    def __init__(self, next_path: str) -> None:
        super().__init__("log in first")
        self.next_path = next_path


class PageError(Exception):
    """A refused or failed page request, with the API's status, code, message and hint."""

    def __init__(self, status: int, code: str, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.hint = status, code, message, hint

    @classmethod
    def of(cls, exc: TidyLLMError, where: str) -> PageError:
        status, body = described(exc, where)
        return cls(status, **body["error"])


@dataclass(frozen=True)
class Viewer:
    """The logged-in user of a page request: who, and the session's CSRF token."""

    actor: Actor
    session_id: str

    @property
    def csrf(self) -> str:
        return csrf_token(self.session_id)


def is_htmx(request: Request) -> bool:
    return request.headers.get("HX-Request") == "true"


def local_path(path: str | None, default: str = "/domains") -> str:
    """``path`` if it is a path on this site (``/x``, never ``//host`` or a URL), else
    ``default``: where a log-in may send the browser next."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path:
        return default
    parts = urllib.parse.urlsplit(path)
    if parts.scheme or parts.netloc or any(ord(c) < 32 for c in path):
        return default
    return path


async def viewer(request: Request) -> Viewer:
    """The page's user, from the session cookie; :class:`LoginRequired` without one."""
    session_id = request.cookies.get(SESSION_COOKIE)
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if not session_id:
        raise LoginRequired(here)
    try:
        actor = await run_in_threadpool(authenticate_session, request.app.state.sm, session_id)
    except AuthError:
        raise LoginRequired(here) from None
    if request.method not in ("GET", "HEAD"):
        presented = request.headers.get(CSRF_HEADER)
        if presented is None and request.headers.get("content-type", "").startswith(
            "application/x-www-form-urlencoded"
        ):
            presented = (await request.form()).get("csrf_token")  # type: ignore[assignment]
        if not csrf_matches(session_id, presented if isinstance(presented, str) else None):
            raise PageError(
                403,
                "csrf_rejected",
                "missing or wrong CSRF token",
                "reload the page and try again",
            )
    return Viewer(actor, session_id)


ViewerDep = Annotated[Viewer, Depends(viewer)]


async def call(request: Request, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a library call in a worker thread; its error becomes a :class:`PageError`."""
    try:
        return await run_in_threadpool(lambda: fn(*args, **kwargs))
    except TidyLLMError as exc:
        raise PageError.of(exc, f"{request.method} {request.url.path}") from exc


def render(
    request: Request,
    template: str,
    status: int = 200,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:
    """The template rendered with ``context`` (plus the request's path for the menu)."""
    html = templates.get_template(template).render(path=request.url.path, **context)
    response = HTMLResponse(html, status, headers=headers)
    response.headers["Cache-Control"] = "no-store"  # pages hold a user's data
    return response


async def login_required(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LoginRequired)
    target = "/login?" + urllib.parse.urlencode({"next": local_path(exc.next_path)})
    if is_htmx(request):
        return Response(status_code=401, headers={"HX-Redirect": target})
    return RedirectResponse(target, 303)


async def _logged_in(request: Request) -> Viewer | None:
    """The page's user if the session is live (the error page's menu), else None."""
    session_id = request.cookies.get(SESSION_COOKIE)
    if not session_id:
        return None
    try:
        actor = await run_in_threadpool(authenticate_session, request.app.state.sm, session_id)
    except TidyLLMError:
        return None
    return Viewer(actor, session_id)


async def page_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, PageError)
    if is_htmx(request):
        return render(request, "_error.html", exc.status, error=exc, user=None)
    user = await _logged_in(request)
    return render(request, "error.html", exc.status, error=exc, user=user)
