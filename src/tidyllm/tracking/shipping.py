"""Send the tracking outbox to MLflow: buffered runs and question traces, oldest first.

:func:`flush` does it in the calling process (``tidyllm tracking flush``, tests,
long-running services); ``python -m tidyllm.tracking.shipping`` is the detached
background flush the outbox starts (see :mod:`tidyllm.tracking.outbox`). This is
the only module on the tracking path that imports MLflow.

A trace is sent with the tag ``tidyllm.trace_key`` (the key ``ask`` returned in
``Answer.trace_key``) and removed from the buffer only once MLflow returns it
for that tag, so a flush cut off half-way never loses a trace, and a trace that
did land is not sent again. Runs are replayed by the :class:`Tracker` (tag
``tidyllm.run_key``, same guarantees); a drop-zone batch run, once sent, has its
MLflow run id written to its files' ledger rows when the database is reachable
without starting anything.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
import time
import warnings
from dataclasses import dataclass, field
from typing import Any

from filelock import FileLock, Timeout

from tidyllm.errors import BufferedRunCorrupt, ReplayError, TidyLLMError, TrackingError
from tidyllm.redaction import redact
from tidyllm.tracking.outbox import SHIP_LOCK, TRACE_KEY_TAG, Outbox, disable_mlflow_telemetry
from tidyllm.tracking.run import PreparedRun

log = logging.getLogger(__name__)
_GLOBAL_URI_LOCK = threading.Lock()
FLUSH_WAIT_SECONDS = 300.0  # an explicit flush waits this long for a background one
MAX_ROUNDS = 5  # the background flush looks again for what arrived while it was sending


@dataclass
class FlushReport:
    """What one flush sent, what it left, and why."""

    runs: int = 0
    traces: int = 0
    outage: bool = False
    failures: list[str] = field(default_factory=list)
    pending: dict[str, int] = field(default_factory=dict)


def flush(sm: Any, *, wait: float = FLUSH_WAIT_SECONDS) -> FlushReport:
    """Send every buffered run and trace now; wait up to ``wait`` s for a running flush."""
    outbox: Outbox = sm.outbox()
    lock = FileLock(outbox.root / SHIP_LOCK, timeout=wait)
    outbox.root.mkdir(parents=True, exist_ok=True)
    try:
        lock.acquire()
    except Timeout:
        raise TrackingError(
            f"another flush of {outbox.root} is still running after {wait:.0f}s"
            f" (its log: {outbox.root / 'ship.log'}); try again later"
        ) from None
    try:
        return _flush_locked(sm, outbox)
    finally:
        lock.release()


def _flush_locked(sm: Any, outbox: Outbox) -> FlushReport:
    disable_mlflow_telemetry()
    report = FlushReport()
    pending = outbox.pending()
    if pending["runs"]:
        _send_runs(sm, report)
    if pending["traces"] and not report.outage:
        _send_traces(sm, outbox, report)
    if report.outage:
        outbox.pause_after_outage()
    else:
        outbox.clear_outage()
    report.pending = outbox.pending()
    return report


# -- runs ------------------------------------------------------------------------------------


def _send_runs(sm: Any, report: FlushReport) -> None:
    tracker = sm.tracker()
    before = tracker.pending()
    try:
        report.runs = tracker.replay(on_sent=lambda run, run_id: _link_ledger(sm, run, run_id))
    except ReplayError as exc:
        report.runs = exc.sent
        report.failures.append(str(exc))
    except TidyLLMError as exc:
        report.failures.append(redact(exc))
    if tracker.pending() and report.runs < before and not report.failures:
        report.outage = True


def _link_ledger(sm: Any, run: PreparedRun, run_id: str) -> None:
    """Write a sent drop-zone batch run's id into its files' ledger rows (best effort)."""
    if run.tags.get("tidyllm.component") != "dropzones":
        return
    raw = run.artifacts.get("batch_report.json")
    if raw is None:
        return
    try:
        ids = [int(f["id"]) for f in json.loads(raw)["files"] if f.get("id") is not None]
    except (ValueError, KeyError, TypeError):
        return
    if not ids or not _database_reachable(sm):
        return
    try:
        with sm.connection() as conn:
            conn.execute(
                "UPDATE files SET mlflow_run_id = %(run_id)s WHERE id = ANY(%(ids)s)",
                {"run_id": run_id, "ids": ids},
            )
    except Exception as exc:
        log.warning("could not record MLflow run %s in the ledger: %s", run_id, redact(exc))


def _database_reachable(sm: Any) -> bool:
    """A configured database, or an embedded server already running (never start one)."""
    db = sm.settings.database
    if db.url or db.host:
        return True
    from tidyllm.db.embedded import embedded_running

    return embedded_running(sm.data_dir)


# -- traces ----------------------------------------------------------------------------------


def _send_traces(sm: Any, outbox: Outbox, report: FlushReport) -> None:
    from tidyllm.tracking.outage import is_outage

    buffer = outbox.traces
    with buffer.claim() as claimed:
        if not claimed:
            return
        keys = buffer.pending_keys()
        if not keys:
            return
        import mlflow

        client = sm.mlflow()
        tracker = sm.tracker()
        sent: list[tuple[str, str]] = []
        for key in keys:
            path = buffer.run_file(key)
            try:
                doc = buffer.read_trace(key)
            except BufferedRunCorrupt as exc:
                moved = buffer.move_aside(key, str(exc))
                report.failures.append(f"{path} moved to {moved}: {exc}")
                continue
            try:
                exp_id = tracker.experiment_id_for(doc["experiment"])
                if _landed(client, exp_id, key):
                    buffer.remove(key)  # an earlier flush sent it and was cut off
                    report.traces += 1
                    continue
                with _GLOBAL_URI_LOCK, warnings.catch_warnings():
                    # MLflow's type-hint inference warns about Any-typed inputs: noise here.
                    warnings.simplefilter("ignore")
                    sm.point_mlflow_tracer()
                    _send_trace(client, exp_id, doc)
            except Exception as exc:
                if is_outage(exc):
                    report.outage = True
                    log.info("trace flush stopped, MLflow unreachable: %s", redact(exc))
                    break
                why = f"MLflow refused it: {redact(exc)}"
                report.failures.append(f"{path} moved to {buffer.move_aside(key, why)}: {why}")
                continue
            sent.append((key, exp_id))
        if not sent:
            return
        mlflow.flush_trace_async_logging(terminate=False)
        for key, exp_id in sent:
            try:
                landed = _landed(client, exp_id, key)
            except Exception as exc:
                if is_outage(exc):
                    report.outage = True
                    break
                raise
            if landed:
                buffer.remove(key)
                report.traces += 1
            else:
                log.warning("trace %s did not reach MLflow; it stays buffered", key)


def _landed(client: Any, experiment_id: str, key: str) -> bool:
    found = client.search_traces(
        locations=[experiment_id],
        filter_string=f"tag.`{TRACE_KEY_TAG}` = '{key}'",  # key is [0-9a-f-] only
        max_results=1,
    )
    return len(found) > 0


def _send_trace(client: Any, experiment_id: str, doc: dict[str, Any]) -> str:
    tags = {str(k): str(v) for k, v in (doc.get("tags") or {}).items()}
    tags[TRACE_KEY_TAG] = doc["trace_key"]
    root = client.start_trace(
        doc.get("name") or "trace",
        inputs=doc.get("inputs"),
        attributes=doc.get("attributes") or None,
        experiment_id=experiment_id,
        start_time_ns=int(doc["start_ns"]),
        tags=tags,
    )
    for span in doc["spans"]:
        child = client.start_span(
            span["name"],
            trace_id=root.trace_id,
            parent_id=root.span_id,
            inputs=span.get("inputs"),
            start_time_ns=int(span["start_ns"]),
        )
        client.end_span(
            trace_id=root.trace_id,
            span_id=child.span_id,
            outputs=span.get("outputs"),
            attributes=span.get("attributes") or None,
            status=span.get("status") or "OK",
            end_time_ns=int(span["end_ns"]),
        )
    client.end_trace(
        root.trace_id,
        outputs=doc.get("outputs"),
        attributes=doc.get("end_attributes") or None,
        end_time_ns=int(doc["end_ns"]),
    )
    return str(root.trace_id)


# -- the background process -------------------------------------------------------------------


def main() -> int:
    """``python -m tidyllm.tracking.shipping``: flush until the outbox is empty, then exit."""
    disable_mlflow_telemetry()
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s"
    )
    for noisy in ("mlflow", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    from tidyllm.session import UnifiedSessionManager

    with UnifiedSessionManager() as sm:
        outbox = sm.outbox()
        for _ in range(MAX_ROUNDS):
            lock = outbox.ship_lock()
            try:
                lock.acquire()
            except Timeout:
                return 0  # another flush runs; it looks again before it exits
            try:
                started = time.monotonic()
                report = _flush_locked(sm, outbox)
            except Exception as exc:
                log.error("background MLflow flush failed: %s", redact(exc))
                return 1
            finally:
                lock.release()
            log.info(
                "sent %d run(s) and %d trace(s) in %.1fs; pending %s%s",
                report.runs,
                report.traces,
                time.monotonic() - started,
                report.pending,
                "; MLflow unreachable" if report.outage else "",
            )
            for failure in report.failures:
                log.error("%s", failure)
            left = outbox.pending()
            # Something buffered while the lock was held is sent now; stop on no progress.
            if not any(left.values()) or report.outage:
                return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
