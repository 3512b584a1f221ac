"""Worker batches: one MLflow run per batch per zone, with metrics and a report artifact.

A batch closes when it holds ``size`` finished files, when the zone has been idle
for ``idle_seconds``, or when the worker stops. A closed batch's run is handed to
the tracking outbox (a disk buffer; no MLflow import, no network) and sent later by
the background flush or ``tidyllm tracking flush``, so neither a slow MLflow nor a
SIGTERM ever waits on tracking. Once sent, its MLflow run carries the tag
``tidyllm.run_key`` (the key kept in :attr:`BatchTracker.runs`) and its files'
ledger rows get the MLflow run id.
"""

from __future__ import annotations

import logging
import statistics
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tidyllm.dropzones.ledger import Ledger
from tidyllm.dropzones.process import Outcome
from tidyllm.dropzones.report import batch_report
from tidyllm.redaction import redact

log = logging.getLogger(__name__)

FINAL = frozenset({"done", "failed", "duplicate", "dead", "vanished", "superseded"})


def _percentile(values: list[float], pct: float) -> float:
    if not values:
        return 0.0
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(pct) - 1]


@dataclass
class _Batch:
    started: float = field(default_factory=time.monotonic)
    started_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())
    last: float = field(default_factory=time.monotonic)
    outcomes: list[Outcome] = field(default_factory=list)


def _file_entry(o: Outcome) -> dict[str, Any]:
    return {"id": o.file_id, "state": o.state, "seconds": round(o.seconds, 4), "error": o.error}


class BatchTracker:
    """Collects outcomes per zone and buffers each closed batch as an MLflow run.

    ``runs`` lists the run keys (tag ``tidyllm.run_key``) of the buffered runs.
    """

    def __init__(
        self,
        sm: Any,
        ledger: Ledger,
        pipelines: dict[str, Any],
        worker: str,
        *,
        enabled: bool = True,
        size: int = 100,
        idle_seconds: float = 5.0,
    ) -> None:
        self.sm = sm
        self.ledger = ledger
        self.pipelines = pipelines
        self.worker = worker
        self.enabled = enabled
        self.size = size
        self.idle_seconds = idle_seconds
        self._batches: dict[str, _Batch] = defaultdict(_Batch)
        self._lock = threading.Lock()
        self.runs: list[str] = []

    def add(self, outcome: Outcome) -> None:
        if outcome.state not in FINAL:
            return
        with self._lock:
            batch = self._batches[outcome.zone]
            batch.outcomes.append(outcome)
            batch.last = time.monotonic()

    def flush(self, *, force: bool = False) -> None:
        """Log the batches that are full or idle (all of them with ``force``)."""
        now = time.monotonic()
        with self._lock:
            ready = {
                zone: batch
                for zone, batch in self._batches.items()
                if batch.outcomes
                and (
                    force
                    or len(batch.outcomes) >= self.size
                    or now - batch.last >= self.idle_seconds
                )
            }
            for zone in ready:
                del self._batches[zone]
        for zone, batch in ready.items():
            self._log(zone, batch)

    def summary(self, zone: str, batch: _Batch) -> dict[str, Any]:
        """Metrics and report for one batch."""
        outs = batch.outcomes
        pipeline = self.pipelines[zone]
        seconds = [o.seconds for o in outs]
        elapsed = max(time.monotonic() - batch.started, 1e-6)
        count = {state: sum(1 for o in outs if o.state == state) for state in sorted(FINAL)}
        metrics = {
            "files_total": float(len(outs)),
            **{f"files_{k}": float(v) for k, v in count.items()},
            "bytes": float(sum(o.size for o in outs)),
            "pages": float(sum(o.pages for o in outs)),
            "latency_p50_s": _percentile(seconds, 50),
            "latency_p95_s": _percentile(seconds, 95),
            "throughput_files_per_s": len(outs) / elapsed,
        }
        return {
            "zone": zone,
            "pipeline": pipeline.name,
            "pipeline_version": pipeline.version,
            "worker": self.worker,
            "started_at": batch.started_at,
            "metrics": metrics,
            "files": [_file_entry(o) for o in outs],
        }

    def _log(self, zone: str, batch: _Batch) -> None:
        if not self.enabled:
            return
        summary = self.summary(zone, batch)
        try:
            key = self.sm.outbox().defer_run(
                run_name=f"dropzone-{zone}",
                params={
                    "zone": zone,
                    "pipeline": summary["pipeline"],
                    "pipeline_version": summary["pipeline_version"],
                    "worker": self.worker,
                },
                metrics=summary["metrics"],
                artifacts={"batch_report.json": batch_report(summary)},
                tags={"tidyllm.component": "dropzones", "tidyllm.zone": zone},
            )
        except Exception as exc:  # tracking must never stop the worker
            log.warning("MLflow run for zone %s was not buffered: %s", zone, redact(exc))
            return
        self.runs.append(key)
