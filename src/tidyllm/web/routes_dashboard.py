"""The operations dashboard (admins): health, zones, throughput, failures, runs, audit.

Every part is a library call the CLI or the API also makes, with the admin as the actor:

- health: :meth:`UnifiedSessionManager.health` (what ``tidyllm doctor`` shows: each
  service's state, detail and where its settings came from, never a secret value), as an
  htmx fragment loaded after the page (a probe may take seconds);
- zones: :meth:`UnifiedDropZones.overview` (counts by state), with each zone's last hour as
  a small server-rendered SVG bar chart (:meth:`Ledger.throughput`, per 5 minutes);
- recent failures (:meth:`Ledger.recent_failures`) with Retry (the drop zones' own
  :meth:`~UnifiedDropZones.retry`, audited) and each file's ledger history page
  (:meth:`~UnifiedDropZones.history`);
- recent MLflow runs (:func:`tidyllm.tracking.recent.recent_runs`, through the session
  manager's MLflow client), a fragment with a time limit and a "not reachable" state;
- the audit log (:func:`tidyllm.access.audit.read_audit`), filtered by user and since.

Anyone else gets the API's refusal for an admin route: 403, and no link to it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from tidyllm.access import parse_since, read_audit
from tidyllm.dropzones.api import UnifiedDropZones
from tidyllm.errors import FileStateConflict, PermissionDenied, TidyLLMError
from tidyllm.ids import MAX_ID
from tidyllm.redaction import redact
from tidyllm.web.pages import PageError, Viewer, ViewerDep, call, render
from tidyllm.web.routes_uploads import LABELS, upload_state

router = APIRouter(include_in_schema=False)

FileId = Annotated[int, Path(ge=1, le=MAX_ID)]
STEP_SECONDS = 300  # one bar of the throughput chart
SPAN_SECONDS = 3600  # the chart's width: the last hour
FAILURES = 20
RECENT_FILES = 20
AUDIT_ROWS = 50
RUNS = 10
# the fragment's limit: a dead server is found within mlflow.request_timeout by the probe;
# this bounds MLflow's first import in the server (seconds on a busy machine) and the query
MLFLOW_WAIT_SECONDS = 30.0
# the chart's geometry (viewBox units)
BAR_W, GAP, CHART_H = 8, 2, 32


def require_admin(user: Viewer) -> None:
    """The API's refusal of an admin route (:func:`tidyllm.server.auth.admin_actor`)."""
    if not user.actor.is_admin:
        refusal = PermissionDenied("this route needs the admin role", hint="ask an admin")
        raise PageError.of(refusal, "GET /dashboard")


@dataclass(frozen=True)
class Bar:
    x: int
    y: float
    height: float
    count: int
    minutes_ago: int


@dataclass(frozen=True)
class Chart:
    """A zone's last hour as bars (oldest left), with its text for screen readers."""

    bars: list[Bar]
    width: int
    height: int
    total: int
    peak: int

    @property
    def label(self) -> str:
        return f"{self.total} file(s) finished in the last hour; at most {self.peak} in 5 minutes"


def chart(counts: list[int]) -> Chart:
    """The bars of a throughput chart (the template draws them as SVG rectangles)."""
    peak = max(counts, default=0)
    bars = []
    n = len(counts)
    for i, count in enumerate(counts):
        height = 0.0 if not peak else max(1.0, CHART_H * count / peak)
        minutes_ago = (n - i) * STEP_SECONDS // 60
        bars.append(Bar(i * (BAR_W + GAP), CHART_H - height, height, count, minutes_ago))
    return Chart(bars, n * (BAR_W + GAP) - GAP, CHART_H, sum(counts), peak)


def overview(sm: Any, actor: Any) -> dict[str, Any]:
    """The zones with counts and charts, and the recent failures (admin)."""
    dz = UnifiedDropZones(sm)
    zones = dz.overview(actor=actor)
    names = [z.name for z in zones]
    counts = dz.ledger.throughput(names, span=SPAN_SECONDS, step=STEP_SECONDS)
    failures = dz.ledger.recent_failures(names, FAILURES)
    recent = dz.ledger.recent_files(names, RECENT_FILES)
    return {
        "zones": [(z, chart(counts[z.name])) for z in zones],
        "failures": [f.as_dict() for f in failures],
        "recent": [f.as_dict() for f in recent],
    }


def audit_events(sm: Any, actor: Any, user: str, since: str) -> tuple[list[Any], str | None]:
    """The newest audit events for the filters, or none and the filters' error."""
    try:
        start = parse_since(since) if since else None
        return read_audit(sm, user=user or None, since=start, limit=AUDIT_ROWS, actor=actor), None
    except TidyLLMError as exc:
        if isinstance(exc, PermissionDenied):
            raise
        hint = getattr(exc, "hint", "")
        return [], redact(str(getattr(exc, "message", exc))) + (f" ({hint})" if hint else "")


@router.get("/dashboard")
async def dashboard(
    request: Request,
    user: ViewerDep,
    audit_user: Annotated[str, Query(alias="user", max_length=100)] = "",
    since: Annotated[str, Query(max_length=40)] = "",
) -> HTMLResponse:
    require_admin(user)
    sm = request.app.state.sm
    parts = await call(request, overview, sm, user.actor)
    events, audit_error = await call(request, audit_events, sm, user.actor, audit_user, since)
    return render(
        request,
        "dashboard.html",
        user=user,
        labels=LABELS,
        audit=events,
        audit_error=audit_error,
        audit_user=audit_user,
        since=since,
        **parts,
    )


@router.get("/dashboard/health")
async def health(request: Request, user: ViewerDep) -> HTMLResponse:
    require_admin(user)
    results = await run_in_threadpool(request.app.state.sm.health)
    return render(request, "_health.html", user=user, results=results)


@router.get("/dashboard/mlflow")
async def mlflow_runs(request: Request, user: ViewerDep) -> HTMLResponse:
    from tidyllm.tracking.recent import recent_runs

    require_admin(user)
    sm = request.app.state.sm
    found, error = None, None
    try:
        found = await asyncio.wait_for(
            run_in_threadpool(recent_runs, sm, RUNS), timeout=MLFLOW_WAIT_SECONDS
        )
    except TimeoutError:
        error = f"MLflow did not answer within {MLFLOW_WAIT_SECONDS:.0f} seconds."
    except TidyLLMError as exc:
        error = redact(str(exc))
    return render(
        request,
        "_mlflow.html",
        user=user,
        found=found,
        error=error,
        ui_url=sm.settings.mlflow.ui_url,
    )


def file_history(sm: Any, file_id: int, actor: Any) -> dict[str, Any]:
    trail = UnifiedDropZones(sm).history(file_id, actor=actor)
    return trail[0]


@router.get("/dashboard/files/{file_id}")
async def history_page(request: Request, file_id: FileId, user: ViewerDep) -> HTMLResponse:
    require_admin(user)
    found = await call(request, file_history, request.app.state.sm, file_id, user.actor)
    return render(
        request,
        "file_history.html",
        user=user,
        file=found["file"],
        events=found["events"],
        labels=LABELS,
    )


def retry_file(sm: Any, file_id: int, actor: Any) -> dict[str, Any]:
    """Queue a failed file again; the new file's live state (it polls until final)."""
    new = UnifiedDropZones(sm).retry([file_id], actor=actor)
    if not new:  # moved back, but a watcher recorded it first
        raise FileStateConflict(f"file #{file_id} was moved back; reload to follow it")
    return upload_state(sm, new[0], actor)


@router.post("/dashboard/files/{file_id}/retry")
async def retry(request: Request, file_id: FileId, user: ViewerDep) -> HTMLResponse:
    require_admin(user)
    up = await call(request, retry_file, request.app.state.sm, file_id, user.actor)
    return render(request, "_retried.html", user=user, old_id=file_id, new_id=up["id"], up=up)
