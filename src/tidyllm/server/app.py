"""The ASGI app: the session manager opened once per process, routes, errors, headers.

On start-up the app opens the :class:`UnifiedSessionManager` (on embedded defaults
this starts or attaches the embedded PostgreSQL like every command) and, unless
told otherwise, runs a drop-zone worker in a background thread so an upload is
processed without a second command. On shutdown the worker stops (finishing or
releasing its files) before the session manager closes.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from tidyllm import __version__
from tidyllm.redaction import install_log_redaction
from tidyllm.server import docs, errors
from tidyllm.server.headers import SecurityHeaders
from tidyllm.server.metrics import HttpMetrics, MetricsMiddleware
from tidyllm.server.metrics import router as metrics_router
from tidyllm.server.routes_account import router as account_router
from tidyllm.server.routes_catalog import router as catalog_router
from tidyllm.server.routes_chat import router as chat_router
from tidyllm.server.routes_documents import router as documents_router
from tidyllm.server.routes_health import router as health_router
from tidyllm.server.routes_knowledge import router as knowledge_router
from tidyllm.server.routes_routing import router as routing_router
from tidyllm.server.routes_session import router as session_router
from tidyllm.server.routes_uploads import router as uploads_router
from tidyllm.server.routes_zones import router as zones_router
from tidyllm.web import mount as mount_web

log = logging.getLogger(__name__)


def open_session() -> Any:
    """The session manager the CLI would use, plus the quickstart's zone once it ran here."""
    from tidyllm.quickstart import with_quickstart_zone
    from tidyllm.session import UnifiedSessionManager
    from tidyllm.settings import load_settings

    loaded = load_settings()
    extra = with_quickstart_zone(loaded.settings)
    return UnifiedSessionManager(load_settings(extra) if extra else loaded)


class BackgroundWorker:
    """A drop-zone worker in a thread; :meth:`stop` waits until it has let go of its files."""

    def __init__(self, sm: Any) -> None:
        from tidyllm.dropzones import UnifiedDropZones

        self.worker = UnifiedDropZones(sm).worker()
        self.thread = threading.Thread(target=self._run, name="tidyllm-serve-worker", daemon=True)

    def _run(self) -> None:
        try:
            self.worker.run()
        except Exception:  # a crashed worker must not take the API down; it is logged
            log.exception("the background drop-zone worker stopped")

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.worker.stop()
        self.thread.join()


def create_app(sm: Any | None = None, *, worker: bool | None = None) -> FastAPI:
    """The app over ``sm`` (default: opened at start-up from the settings, closed at exit).

    ``worker`` (default: the ``server.worker`` setting) runs a drop-zone worker in the
    background.
    """
    install_log_redaction()  # server processes started by uvicorn's --workers run no CLI code

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = sm is None
        session = open_session() if owned else sm
        app.state.sm = session
        run_worker = worker if worker is not None else session.settings.server.worker
        background = BackgroundWorker(session) if run_worker else None
        if background:
            background.start()
        try:
            yield
        finally:
            if background:
                background.stop()
            if owned:
                session.close()

    app = FastAPI(
        title="TidyLLM",
        version=__version__,
        summary="Documents in, governed and searchable knowledge out.",
        openapi_url="/api/v1/openapi.json",
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    errors.install(app)
    docs.install(app)
    app.include_router(health_router)
    app.include_router(knowledge_router)
    app.include_router(chat_router)
    app.include_router(documents_router)
    app.include_router(catalog_router)
    app.include_router(zones_router)
    app.include_router(uploads_router)
    app.include_router(routing_router)
    app.include_router(session_router)
    app.include_router(account_router)
    app.include_router(metrics_router)
    mount_web(app)
    app.state.metrics = HttpMetrics(lambda: app.state.sm)
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)
    app.add_middleware(SecurityHeaders)
    return app
