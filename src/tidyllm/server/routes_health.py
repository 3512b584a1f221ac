"""``/healthz`` (the process answers; no auth) and ``/readyz`` (every service is reachable).

Readiness reports each service's state only, never its settings or where they came
from: an unauthenticated caller learns that a service is down, not how it is set up.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

router = APIRouter(tags=["health"])
#: Checks of the settings rather than of a service: ``doctor`` and the dashboard show them,
#: but a rule to a missing domain must not take a serving process out of rotation.
NOT_READINESS = frozenset({"upload routing"})


@router.get("/healthz", summary="Liveness: the server process answers")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="Readiness: the session manager's health checks")
async def readyz(request: Request) -> JSONResponse:
    results = [
        r
        for r in await run_in_threadpool(request.app.state.sm.health)
        if r.service not in NOT_READINESS
    ]
    services = {
        r.service: "ok" if r.ok else ("not configured" if not r.configured else "down")
        for r in results
    }
    ready = all(r.ok or not r.configured for r in results)
    return JSONResponse({"ready": ready, "services": services}, 200 if ready else 503)
