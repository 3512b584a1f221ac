"""The newest runs of the configured MLflow experiment (the web dashboard's list).

Read through the session manager's ``MlflowClient`` (:meth:`UnifiedSessionManager.mlflow`).
A store that does not answer is found out first by the cheap probe ``doctor`` uses (no
MLflow import, ``mlflow.request_timeout`` seconds at most), so a dead server costs no
more than that; it raises :class:`~tidyllm.errors.ServiceUnavailable`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tidyllm.errors import ServiceUnavailable
from tidyllm.redaction import redact

MAX_RUNS = 100


@dataclass(frozen=True)
class RunSummary:
    """One MLflow run as the dashboard lists it."""

    run_id: str
    name: str
    status: str
    started: datetime | None
    seconds: float | None
    experiment_id: str


@dataclass(frozen=True)
class RecentRuns:
    """The experiment (None when it does not exist yet) and its newest runs."""

    experiment: str
    experiment_id: str | None
    runs: list[RunSummary]


def _time(ms: Any) -> datetime | None:
    return datetime.fromtimestamp(ms / 1000, UTC) if isinstance(ms, int) and ms > 0 else None


def recent_runs(sm: Any, limit: int = 10) -> RecentRuns:
    """The newest ``limit`` runs of ``mlflow.experiment``, newest first."""
    from tidyllm.session.clients import mlflow_tracking_uri, probe_mlflow_store

    limit = max(1, min(int(limit), MAX_RUNS))
    name = sm.settings.mlflow.experiment
    probe_mlflow_store(mlflow_tracking_uri(sm.settings), sm.settings.mlflow.request_timeout)
    client = sm.mlflow()
    try:
        experiment = client.get_experiment_by_name(name)
        if experiment is None:
            return RecentRuns(name, None, [])
        found = client.search_runs(
            [experiment.experiment_id],
            max_results=limit,
            order_by=["attributes.start_time DESC"],
        )
    except Exception as exc:  # MLflow's own errors (connection, HTTP): not reachable
        raise ServiceUnavailable("mlflow", redact(str(exc)).splitlines()[0][:300]) from None
    runs = []
    for run in found:
        info = run.info
        started, ended = _time(info.start_time), _time(info.end_time)
        runs.append(
            RunSummary(
                run_id=info.run_id,
                name=info.run_name or info.run_id,
                status=info.status,
                started=started,
                seconds=(ended - started).total_seconds() if started and ended else None,
                experiment_id=experiment.experiment_id,
            )
        )
    return RecentRuns(name, experiment.experiment_id, runs)
