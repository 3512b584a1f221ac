"""``/metrics`` in the Prometheus text format (prometheus-client), for admins.

HTTP requests are counted by route *template* (``/api/v1/domains/{name}``, never the
path a client typed, so hostile paths cannot blow up the label set; unmatched paths are
``unmatched``) and status, with a latency histogram; asks get their own histogram. The
ledger's numbers (files by zone and state, queue depth, processing time) are read from
PostgreSQL at scrape time by a custom collector, so every server process reports the same
truth whoever processed the files. Each app has its own registry (no global state).

Under ``serve --workers N`` each request lands in one of N processes, and a scrape in one
of them. There the HTTP instruments use prometheus-client's multiprocess mode: ``serve``
points ``PROMETHEUS_MULTIPROC_DIR`` at a fresh private directory before the server
processes start (the variable must be set before prometheus-client is imported, which
it is in each freshly spawned process), every process writes its counts to its own
files there, and ``/metrics`` sums them with a ``MultiProcessCollector``, so any process
answers with the totals of all of them. The ledger collector still runs in the scraping
process only (its numbers are the database's, not a process's).

``/metrics`` needs an admin (bearer token or session): the issue leaves ``/healthz`` as
the only unauthenticated route, and zone names and traffic are not for everyone.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator
from typing import Any

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.exposition import generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tidyllm.errors import TidyLLMError
from tidyllm.server.auth import AdminDep
from tidyllm.server.models import ErrorBody

log = logging.getLogger(__name__)

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
#: Where prometheus-client's multiprocess mode keeps each process's values (set by serve).
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
PROCESSING_BUCKETS = (0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0)

_FILES = "SELECT zone, state, count(*) FROM files GROUP BY zone, state ORDER BY zone, state"
_QUEUE = (
    "SELECT zone, count(*) FROM files WHERE state = 'pending' AND not_before <= now() "
    "GROUP BY zone ORDER BY zone"
)
#: Files per zone and bucket: bucket i (bounds below d) holds d in (bound i-1, bound i].
_PROCESSING = (
    "SELECT zone, (SELECT count(*) FROM unnest(%s::float8[]) b WHERE b < d)::int, "
    "count(*), sum(d) "
    "FROM (SELECT zone, extract(epoch FROM finished_at - started_at)::float8 AS d FROM files "
    "WHERE finished_at IS NOT NULL AND started_at IS NOT NULL AND finished_at >= started_at) f "
    "GROUP BY 1, 2 ORDER BY 1, 2"
)


class HttpMetrics:
    """The per-app registry and the HTTP-side instruments.

    With ``PROMETHEUS_MULTIPROC_DIR`` set (``serve --workers N`` sets it), the
    instruments live in a registry that is never exposed (their values are in the
    directory's files) and the exposed one sums the files of every process.
    """

    def __init__(self, sm_of: Callable[[], Any]) -> None:
        self.registry = CollectorRegistry()
        shared = os.environ.get(MULTIPROC_ENV)
        instruments = CollectorRegistry() if shared else self.registry
        if shared:
            MultiProcessCollector(self.registry, path=shared)
        self.requests = Counter(
            "tidyllm_http_requests",
            "HTTP requests by method, route template and status",
            ("method", "route", "status"),
            registry=instruments,
        )
        self.latency = Histogram(
            "tidyllm_http_request_duration_seconds",
            "HTTP request latency by method and route template",
            ("method", "route"),
            buckets=LATENCY_BUCKETS,
            registry=instruments,
        )
        self.ask_latency = Histogram(
            "tidyllm_ask_duration_seconds",
            "Latency of successful asks (question to answer with citations)",
            buckets=LATENCY_BUCKETS,
            registry=instruments,
        )
        self.registry.register(LedgerCollector(sm_of))

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        """Record one finished request."""
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)
        if route.endswith("/ask") and status == 200:
            self.ask_latency.observe(seconds)

    def exposition(self) -> bytes:
        """The registry in the Prometheus text format (runs the ledger queries)."""
        return generate_latest(self.registry)


class LedgerCollector(Collector):
    """Files by zone and state, queue depth and processing time, read at scrape time."""

    def __init__(self, sm_of: Callable[[], Any]) -> None:
        self.sm_of = sm_of

    def describe(self) -> list[Metric]:
        return []  # no query when registering; the families appear at collect time

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("tidyllm_ledger_up", "1 if the ledger could be read")
        try:
            families = self._read()
        except TidyLLMError as exc:  # the database down must not make /metrics a 500
            log.warning("metrics: the ledger could not be read: %s", exc)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from families

    def _read(self) -> list[Metric]:
        files = GaugeMetricFamily(
            "tidyllm_files", "Ledger files by zone and state", labels=("zone", "state")
        )
        queue = GaugeMetricFamily(
            "tidyllm_queue_depth", "Pending files due for processing", labels=("zone",)
        )
        processing = HistogramMetricFamily(
            "tidyllm_processing_duration_seconds",
            "Time from lease to final state of finished files (last attempt)",
            labels=("zone",),
        )
        with self.sm_of().connection() as conn:
            for zone, state, count in conn.execute(_FILES).fetchall():
                files.add_metric([zone, state], count)
            for zone, count in conn.execute(_QUEUE).fetchall():
                queue.add_metric([zone], count)
            for zone, buckets, total in _processing(conn):
                processing.add_metric([zone], buckets, total)
        return [files, queue, processing]


def _processing(conn: Any) -> Iterator[tuple[str, list[tuple[str, float]], float]]:
    """Per zone: cumulative bucket counts (``le`` bounds, then +Inf) and the sum."""
    per_zone: dict[str, list[float]] = {}
    sums: dict[str, float] = {}
    for zone, bucket, count, seconds in conn.execute(_PROCESSING, (list(PROCESSING_BUCKETS),)):
        counts = per_zone.setdefault(zone, [0.0] * (len(PROCESSING_BUCKETS) + 1))
        counts[bucket] += count  # bucket i: above bound i-1, at most bound i (last: above all)
        sums[zone] = sums.get(zone, 0.0) + seconds
    for zone, counts in per_zone.items():
        bounds = [*(str(b) for b in PROCESSING_BUCKETS), "+Inf"]
        cumulative = [sum(counts[: i + 1]) for i in range(len(counts))]
        yield zone, list(zip(bounds, cumulative, strict=True)), sums[zone]


class MetricsMiddleware:
    """Times every HTTP request and counts it by route template and status.

    A pure ASGI middleware (streamed responses stay streamed). The route template is
    read from ``scope["route"]``, which the router sets on the shared scope.
    """

    def __init__(self, app: ASGIApp, metrics: HttpMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # an exception that escapes is answered with a 500 further out

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            self.metrics.observe(scope["method"], route, status, time.perf_counter() - started)


router = APIRouter(
    tags=["operations"],
    responses={
        401: {"model": ErrorBody, "description": "Not authenticated"},
        403: {"model": ErrorBody, "description": "Not an admin"},
    },  # type: ignore[dict-item]
)


@router.get(
    "/metrics",
    summary="Prometheus metrics (admin)",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Text format 0.0.4"}},
)
async def metrics(request: Request, actor: AdminDep) -> Response:
    body = await run_in_threadpool(request.app.state.metrics.exposition)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
