"""The tracking outbox: runs and question traces handed to disk, sent to MLflow later.

Work never waits for MLflow. A batch run or a question trace is validated,
redacted and written to the disk buffer under ``DATA/tracking-buffer`` in a few
milliseconds, without importing MLflow (which alone takes seconds, and opening
a fresh local store runs database migrations). Sending happens elsewhere:

* by default (``mlflow.background_flush``), the process that buffered something
  starts one detached ``python -m tidyllm.tracking.shipping`` process per data
  directory (never a second while one runs); it sends everything pending, oldest
  first, and exits;
* ``tidyllm tracking flush`` (or :func:`tidyllm.tracking.shipping.flush`) sends
  everything now, in the calling process, and says what it sent;
* while MLflow is down, whatever could not be sent stays buffered for the next
  flush (a background flush that met an outage waits a minute before the next).

Layout: ``tracking-buffer/pending/<run_key>/`` runs (see :mod:`.buffer`),
``tracking-buffer/traces/pending/<trace_key>/trace.json`` traces, ``ship.lock``
held by the running background flush, ``ship.log`` its log.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from tidyllm.errors import BufferedRunCorrupt, TrackingError
from tidyllm.redaction import redact
from tidyllm.tracking.buffer import RunBuffer, _fsync_dir, _write_synced, read_document
from tidyllm.tracking.run import new_run_key, prepare_run

log = logging.getLogger(__name__)

TRACE_FORMAT = "tidyllm.tracking.buffered-trace"
TRACE_VERSION = 1
TRACE_FILE = "trace.json"
TRACE_KEY_TAG = "tidyllm.trace_key"
SHIP_LOCK = "ship.lock"
SHIP_LOG = "ship.log"
OUTAGE_FILE = "ship.outage"  # holds the time before which no background flush is started
OUTAGE_PAUSE_SECONDS = 60.0

#: MLflow sends usage telemetry to an outside host unless told not to; TidyLLM's
#: offline defaults make no outbound call, so every process it configures sets this.
TELEMETRY_ENV = {"MLFLOW_DISABLE_TELEMETRY": "true"}


def disable_mlflow_telemetry() -> None:
    """Turn MLflow's usage telemetry off for this process and its children.

    Must run before ``import mlflow`` (MLflow decides at import time). An operator
    who wants telemetry sets ``MLFLOW_DISABLE_TELEMETRY=false`` explicitly.
    """
    for name, value in TELEMETRY_ENV.items():
        os.environ.setdefault(name, value)


class TraceBuffer(RunBuffer):
    """Question traces waiting to be sent: the run buffer's layout, with ``trace.json``."""

    def write_trace(self, doc: Mapping[str, Any]) -> str:
        """Store one trace document atomically and durably; return its key."""
        key = str(doc["trace_key"])
        staging = self.tmp_dir / key
        data = json.dumps(doc, sort_keys=True, default=str).encode("utf-8")
        try:
            self.pending_dir.mkdir(parents=True, exist_ok=True)
            staging.mkdir(parents=True)
            _write_synced(staging / TRACE_FILE, data)
            _fsync_dir(staging)
            os.rename(staging, self.pending_dir / key)
            _fsync_dir(self.pending_dir)
        except OSError as exc:
            shutil.rmtree(staging, ignore_errors=True)
            raise TrackingError(
                f"the trace could not be buffered in {self.root}: {redact(exc)}"
            ) from exc
        return key

    def run_file(self, key: str) -> Path:
        return self.pending_dir / key / TRACE_FILE

    def read_trace(self, key: str) -> dict[str, Any]:
        """Load a pending trace; :class:`BufferedRunCorrupt` names a bad file."""
        path = self.run_file(key)
        doc = read_document(path, TRACE_FORMAT, TRACE_VERSION, "trace_key", key)
        if not isinstance(doc.get("spans"), list) or not isinstance(doc.get("experiment"), str):
            raise BufferedRunCorrupt(path, "'spans' or 'experiment' is missing")
        return doc


def redact_tree(value: Any) -> Any:
    """Every string in a JSON-like value passed through :func:`redact` (keys included)."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, Mapping):
        return {redact(str(k)): redact_tree(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_tree(v) for v in value]
    if value is None or isinstance(value, bool | int | float):
        return value
    return redact(value)


class Outbox:
    """Where runs and traces go instead of MLflow; see the module docstring."""

    def __init__(
        self,
        root: Path,
        experiment: str,
        *,
        background: bool = True,
        child_env: Mapping[str, str] | None = None,
    ) -> None:
        self.root = Path(root)
        self.experiment = experiment
        self.runs = RunBuffer(self.root)
        self.traces = TraceBuffer(self.root / "traces")
        self.background = background
        self._child_env = dict(child_env or {})

    def __repr__(self) -> str:
        return f"Outbox(root={str(self.root)!r}, experiment={self.experiment!r})"

    # -- handing over ---------------------------------------------------------------------

    def defer_run(
        self,
        *,
        run_name: str | None = None,
        params: Mapping[str, object] | None = None,
        metrics: Mapping[str, float] | None = None,
        artifacts: Mapping[str, bytes | str | os.PathLike[str]] | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> str:
        """Validate, redact and buffer one complete run; return its run key (no MLflow call).

        Raises :class:`~tidyllm.errors.InvalidRunData` for bad input at once, and
        :class:`TrackingError` if the buffer cannot be written.
        """
        run = prepare_run(
            experiment=self.experiment,
            run_name=run_name,
            params=params or {},
            metrics=metrics or {},
            tags=tags or {},
            artifacts=artifacts or {},
        )
        key = self.runs.write(run)
        log.debug("run %s buffered in %s", key, self.root)
        self.flush_in_background()
        return key

    def defer_trace(self, trace: Mapping[str, Any]) -> str:
        """Redact and buffer one finished question trace; return its trace key.

        ``trace``: ``name``, ``start_ns``, ``end_ns``, ``inputs``, ``outputs``,
        ``attributes``, ``tags`` and ``spans`` (each: ``name``, ``start_ns``,
        ``end_ns``, ``inputs``, ``outputs``, ``status``, ``attributes``).
        """
        key = new_run_key()
        doc = redact_tree(dict(trace))
        doc.update(
            format=TRACE_FORMAT, version=TRACE_VERSION, trace_key=key, experiment=self.experiment
        )
        self.traces.write_trace(doc)
        log.debug("trace %s buffered in %s", key, self.root)
        self.flush_in_background()
        return key

    # -- state ------------------------------------------------------------------------------

    def pending(self) -> dict[str, int]:
        """How many runs and traces wait to be sent."""
        return {"runs": self.runs.count(), "traces": self.traces.count()}

    # -- background flush -------------------------------------------------------------------

    def ship_lock(self) -> FileLock:
        return FileLock(self.root / SHIP_LOCK, timeout=0)

    def flush_in_background(self) -> bool:
        """Start the detached flush process unless disabled, paused after an outage, or running.

        Returns True if a process was started. Never raises: tracking must not
        break the work that produced it.
        """
        if not self.background or os.environ.get("_TIDYLLM_BACKGROUND_FLUSH") == "1":
            return False
        try:
            if time.time() < _read_float(self.root / OUTAGE_FILE):
                return False
            lock = self.ship_lock()
            try:
                lock.acquire()
            except Timeout:
                return False  # a flush process is running; it looks again before it exits
            lock.release()
            env = {
                **os.environ,
                **TELEMETRY_ENV,
                **self._child_env,
                "_TIDYLLM_BACKGROUND_FLUSH": "1",
            }
            with open(self.root / SHIP_LOG, "ab") as logfile:
                subprocess.Popen(  # our own interpreter and module
                    [sys.executable, "-m", "tidyllm.tracking.shipping"],
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=logfile,
                    stderr=logfile,
                    start_new_session=True,  # a Ctrl-C or SIGTERM of the command spares it
                    close_fds=True,
                )
        except Exception as exc:
            log.warning("could not start the background MLflow flush: %s", redact(exc))
            return False
        return True

    def pause_after_outage(self) -> None:
        """Start no background flush for a while (MLflow was unreachable)."""
        with contextlib.suppress(OSError):
            (self.root / OUTAGE_FILE).write_text(str(time.time() + OUTAGE_PAUSE_SECONDS))

    def clear_outage(self) -> None:
        with contextlib.suppress(OSError):
            (self.root / OUTAGE_FILE).unlink()


def _read_float(path: Path) -> float:
    try:
        return float(path.read_text().strip())
    except (OSError, ValueError):
        return 0.0
