"""The web UI: server-rendered pages over the same library calls as the REST API.

Jinja2 templates (every one autoescaped) rendered by thin page routes, htmx (vendored
under ``static/``, never from a CDN) for the parts that update in place, and two small
script files of our own: no inline script or handler, so the API's Content-Security-
Policy (``script-src 'self'``) holds for every page. See ``docs/web.md``.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from tidyllm.web.pages import LoginRequired, PageError, login_required, page_error
from tidyllm.web.routes_ask import router as ask_router
from tidyllm.web.routes_dashboard import router as dashboard_router
from tidyllm.web.routes_documents import router as documents_router
from tidyllm.web.routes_session import router as session_router
from tidyllm.web.routes_uploads import router as uploads_router

__all__ = ["mount"]


def mount(app: FastAPI) -> None:
    """Add the web UI's pages, their error handling and the static files to ``app``."""
    app.add_exception_handler(LoginRequired, login_required)
    app.add_exception_handler(PageError, page_error)
    app.include_router(session_router)
    app.include_router(documents_router)
    app.include_router(uploads_router)
    app.include_router(ask_router)
    app.include_router(dashboard_router)
    app.mount("/static", StaticFiles(packages=[("tidyllm.web", "static")]), name="static")
