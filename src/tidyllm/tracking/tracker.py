"""Log complete MLflow runs, and keep working while MLflow is down.

The tracker never builds an MLflow client: it is handed a factory by the
session manager (the one place that opens connections) and calls it once,
lazily. A run is logged in one go - create, params/metrics/tags in batches,
artifacts, FINISHED - or, if MLflow cannot be reached, written whole to a disk
buffer and replayed later, oldest first.

Each run carries a ``tidyllm.run_key`` tag set when it is created. Replay
looks that key up first, so a run that reached MLflow before a crash is not
sent twice, and a half-logged run left by an outage mid-run is deleted and
logged again whole.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import tempfile
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from mlflow.entities import Metric, Param, RunTag, ViewType

from tidyllm.errors import (
    BufferedRunCorrupt,
    InvalidRunData,
    ReplayError,
    ServiceUnavailable,
    TidyLLMError,
    TrackingError,
)
from tidyllm.redaction import redact
from tidyllm.tracking.buffer import RunBuffer
from tidyllm.tracking.outage import apply_fail_fast_env, is_outage, is_rejection
from tidyllm.tracking.run import (
    REPLAYED_TAG,
    RUN_KEY_TAG,
    PreparedRun,
    check_experiment_name,
    prepare_run,
)

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

_log = logging.getLogger(__name__)

BATCH_PARAMS_TAGS = 100  # MLflow's per-request limit for params and for tags
BATCH_METRICS = 1000
OPPORTUNISTIC_REPLAY_LIMIT = 20  # runs replayed at the start of one log_run, at most
_DETAIL_CHARS = 300


@dataclass(frozen=True)
class RunRecord:
    """Where a run went: MLflow (``run_id``) or the disk buffer (``buffer_id``)."""

    run_id: str | None
    buffered: bool
    buffer_id: str | None


@dataclass
class _ReplayOutcome:
    sent: int = 0
    outage: bool = False
    busy: bool = False
    failures: list[tuple[Path, Path, str]] = field(default_factory=list)


def _detail(exc: BaseException) -> str:
    """A short, redacted description of an error, safe for messages and logs."""
    text = redact(f"{type(exc).__name__}: {exc}")
    return text if len(text) <= _DETAIL_CHARS else text[: _DETAIL_CHARS - 3] + "..."


class Tracker:
    """Logs runs to one MLflow experiment; buffers them to ``buffer_dir`` during outages."""

    def __init__(
        self,
        client_factory: Callable[[], MlflowClient],
        experiment: str,
        buffer_dir: Path,
        *,
        artifact_root: Path | str | None = None,
    ) -> None:
        """``artifact_root``: where new experiments keep artifacts when the store is local.

        For a ``sqlite:///.../mlflow.db`` tracking URI it defaults to the folder
        ``artifacts`` next to the database; for a tracking server it stays
        unset so the server decides (``--artifacts-destination``).
        """
        check_experiment_name(experiment)
        self._factory = client_factory
        self._experiment = experiment
        self._buffer = RunBuffer(Path(buffer_dir))
        self._artifact_root = Path(artifact_root) if artifact_root is not None else None
        self._client: MlflowClient | None = None
        self._experiment_ids: dict[str, str] = {}
        self._lock = threading.RLock()

    def __repr__(self) -> str:
        return f"Tracker(experiment={self._experiment!r}, buffer_dir={str(self._buffer.root)!r})"

    # -- public API ------------------------------------------------------------------

    def log_run(
        self,
        *,
        run_name: str | None = None,
        params: Mapping[str, object] | None = None,
        metrics: Mapping[str, float] | None = None,
        artifacts: Mapping[str, bytes | str | os.PathLike[str]] | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> RunRecord:
        """Log one complete run; buffer it to disk if MLflow is unreachable.

        Raises :class:`InvalidRunData` for bad input (before anything is sent),
        :class:`TrackingError` if MLflow refuses the run for another reason or
        the buffer cannot be written. Never raises because MLflow is down.
        """
        run = prepare_run(
            experiment=self._experiment,
            run_name=run_name,
            params={} if params is None else params,
            metrics={} if metrics is None else metrics,
            tags={} if tags is None else tags,
            artifacts={} if artifacts is None else artifacts,
        )
        if self._has_backlog() and self._replay_quietly().outage:
            return self._buffer_run(run, "MLflow is still unreachable")
        try:
            run_id = self._send(run, replayed=False)
        except Exception as exc:
            if is_outage(exc):
                return self._buffer_run(run, _detail(exc))
            if isinstance(exc, TidyLLMError):
                raise
            if is_rejection(exc):
                raise InvalidRunData(f"MLflow rejected the run: {_detail(exc)}") from exc
            raise TrackingError(f"MLflow could not log the run: {_detail(exc)}") from exc
        return RunRecord(run_id=run_id, buffered=False, buffer_id=None)

    def replay(self, *, on_sent: Callable[[PreparedRun, str], None] | None = None) -> int:
        """Send buffered runs, oldest first; return how many were sent.

        Each run is deleted from the buffer only once it is FINISHED in MLflow.
        Stops quietly at the first outage (the rest stay buffered). Returns 0 at
        once if another process or thread is replaying this buffer. Runs that
        are unreadable or refused by MLflow are moved to ``failed/`` (never
        deleted); the others are still sent, then :class:`ReplayError` names
        the moved files. ``on_sent(run, run_id)`` is called after each run is sent.
        """
        outcome = self._replay(limit=None, on_sent=on_sent)
        if outcome.failures:
            raise ReplayError(outcome.sent, outcome.failures)
        return outcome.sent

    def pending(self) -> int:
        """Number of buffered runs waiting for replay (for ``tidyllm doctor``)."""
        return self._buffer.count()

    def failed_runs(self) -> list[Path]:
        """Buffered runs that could not be replayed and were moved aside (kept for inspection)."""
        return self._buffer.failed_runs()

    def probe(self) -> str:
        """Check that MLflow answers (one experiment search); raise ServiceUnavailable if not."""
        try:
            self._get_client().search_experiments(max_results=1)
        except Exception as exc:
            raise ServiceUnavailable("mlflow", _detail(exc)) from exc
        try:
            return f"reachable; {self.pending()} buffered run(s) waiting for replay"
        except TrackingError as exc:  # MLflow is fine; say what is wrong with the buffer
            return f"reachable; {exc}"

    def experiment_id(self) -> str:
        """The id of this tracker's experiment, created on first use (cached)."""
        try:
            return self._experiment_id_for(self._experiment)
        except TidyLLMError:
            raise
        except Exception as exc:
            if is_outage(exc):
                raise ServiceUnavailable("mlflow", _detail(exc)) from exc
            raise TrackingError(
                f"cannot get or create MLflow experiment {self._experiment!r}: {_detail(exc)}"
            ) from exc

    def experiment_id_for(self, name: str) -> str:
        """The id of experiment ``name``, created on first use (cached); MLflow errors as-is."""
        return self._experiment_id_for(name)

    # -- sending ---------------------------------------------------------------------

    def _get_client(self) -> MlflowClient:
        with self._lock:
            if self._client is None:
                self._client = self._factory()
                # After the factory, so the session manager's configured timeouts win;
                # this only fills in what neither it nor the operator set.
                apply_fail_fast_env()
            return self._client

    def _experiment_id_for(self, name: str) -> str:
        from mlflow.exceptions import MlflowException

        with self._lock:
            cached = self._experiment_ids.get(name)
        if cached is not None:
            return cached
        client = self._get_client()
        found = client.get_experiment_by_name(name)
        if found is None:
            try:
                exp_id = client.create_experiment(
                    name, artifact_location=self._artifact_location(name, client)
                )
            except MlflowException as exc:
                if exc.error_code != "RESOURCE_ALREADY_EXISTS":
                    raise
                found = client.get_experiment_by_name(name)  # another process won the race
                if found is None:
                    raise
        if found is not None:
            if found.lifecycle_stage != "active":
                raise TrackingError(
                    f"MLflow experiment {name!r} is deleted; restore it or use another name"
                )
            exp_id = found.experiment_id
        with self._lock:
            self._experiment_ids[name] = exp_id
        return exp_id

    def _artifact_location(self, name: str, client: MlflowClient) -> str | None:
        root = self._artifact_root
        if root is None:
            uri = str(getattr(client, "tracking_uri", ""))
            if not uri.startswith("sqlite:///"):
                return None  # a tracking server chooses its own artifact store
            root = Path(uri[len("sqlite:///") :]).parent / "artifacts"
        slug = re.sub(r"[^A-Za-z0-9._-]+", "_", name)[:60].strip("._") or "experiment"
        digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:8]
        folder = Path(root).resolve() / f"{slug}-{digest}"
        folder.mkdir(parents=True, exist_ok=True)
        return folder.as_uri()

    def _send(self, run: PreparedRun, *, replayed: bool) -> str:
        """Log ``run`` completely; leave it FAILED in MLflow if MLflow refuses part of it."""
        client = self._get_client()
        exp_id = self._experiment_id_for(run.experiment)
        first_tags = {RUN_KEY_TAG: run.run_key}
        if replayed:
            first_tags[REPLAYED_TAG] = "true"
        created = client.create_run(
            exp_id, start_time=run.time_ms, tags=first_tags, run_name=run.run_name
        )
        run_id = created.info.run_id
        try:
            self._log_contents(client, run_id, run)
            client.set_terminated(run_id, "FINISHED", end_time=run.time_ms)
        except Exception as exc:
            if not is_outage(exc):  # an outage leaves it RUNNING; replay deletes it by key
                try:
                    client.set_terminated(run_id, "FAILED")
                except Exception as cleanup_exc:  # best effort; the first error matters
                    _log.debug("could not mark run as FAILED: %s", _detail(cleanup_exc))
            raise
        return run_id

    @staticmethod
    def _log_contents(client: MlflowClient, run_id: str, run: PreparedRun) -> None:
        params = [Param(k, v) for k, v in run.params.items()]
        tags = [RunTag(k, v) for k, v in run.tags.items()]
        metrics = [Metric(k, v, run.time_ms, 0) for k, v in run.metrics.items()]
        while params or tags or metrics:
            client.log_batch(
                run_id,
                metrics=metrics[:BATCH_METRICS],
                params=params[:BATCH_PARAMS_TAGS],
                tags=tags[:BATCH_PARAMS_TAGS],
            )
            params, tags = params[BATCH_PARAMS_TAGS:], tags[BATCH_PARAMS_TAGS:]
            metrics = metrics[BATCH_METRICS:]
        if run.artifacts:
            with tempfile.TemporaryDirectory(prefix="tidyllm-artifacts-") as tmp:
                for name, data in run.artifacts.items():
                    target = Path(tmp, name)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(data)
                client.log_artifacts(run_id, tmp)

    def _has_backlog(self) -> bool:
        """True if runs wait in the buffer; a broken buffer must not stop direct logging."""
        try:
            return self._buffer.count() > 0
        except TrackingError as exc:
            _log.warning("%s", exc)
            return False

    def _buffer_run(self, run: PreparedRun, why: str) -> RunRecord:
        key = self._buffer.write(run)
        _log.warning("MLflow unreachable (%s); buffered run %s in %s", why, key, self._buffer.root)
        return RunRecord(run_id=None, buffered=True, buffer_id=key)

    # -- replay ----------------------------------------------------------------------

    def _replay_quietly(self) -> _ReplayOutcome:
        """Replay a few runs before logging a new one; report problems in the log, not raise."""
        try:
            outcome = self._replay(limit=OPPORTUNISTIC_REPLAY_LIMIT)
        except TidyLLMError as exc:
            _log.warning("replay of buffered MLflow runs failed: %s", redact(exc))
            return _ReplayOutcome()
        if outcome.failures:
            _log.error("%s", redact(ReplayError(outcome.sent, outcome.failures)))
        return outcome

    def _replay(
        self, limit: int | None, on_sent: Callable[[PreparedRun, str], None] | None = None
    ) -> _ReplayOutcome:
        outcome = _ReplayOutcome()
        with self._buffer.claim() as claimed:
            if not claimed:
                outcome.busy = True
                return outcome
            for key in self._buffer.pending_keys():
                if limit is not None and outcome.sent >= limit:
                    break
                path = self._buffer.run_file(key)
                try:
                    run = self._buffer.read(key)
                except BufferedRunCorrupt as exc:
                    moved = self._buffer.move_aside(key, str(exc))
                    outcome.failures.append((path, moved, str(exc)))
                    _log.error("%s; moved aside", exc)
                    continue
                try:
                    run_id = self._send_once(run)
                except Exception as exc:
                    if is_outage(exc):
                        outcome.outage = True
                        _log.info("replay stopped, MLflow unreachable: %s", _detail(exc))
                        break
                    if isinstance(exc, TidyLLMError):
                        raise
                    if not is_rejection(exc):
                        raise TrackingError(
                            f"replay of buffered run {path} failed: {_detail(exc)}"
                        ) from exc
                    why = f"MLflow rejected it: {_detail(exc)}"
                    outcome.failures.append((path, self._buffer.move_aside(key, why), why))
                    continue
                self._buffer.remove(key)
                outcome.sent += 1
                if on_sent is not None:
                    try:
                        on_sent(run, run_id)
                    except Exception as exc:  # the run is in MLflow; a follow-up must not undo that
                        _log.warning("after sending run %s: %s", key, _detail(exc))
        return outcome

    def _send_once(self, run: PreparedRun) -> str:
        """Send a buffered run unless an earlier attempt already finished it."""
        client = self._get_client()
        exp_id = self._experiment_id_for(run.experiment)
        earlier = client.search_runs(
            [exp_id],
            filter_string=f"tags.`{RUN_KEY_TAG}` = '{run.run_key}'",  # key is [0-9a-f-] only
            run_view_type=ViewType.ACTIVE_ONLY,
            max_results=50,
        )
        for found in earlier:
            if found.info.status == "FINISHED":
                return found.info.run_id
        for found in earlier:  # half-logged by an attempt that was cut off
            client.delete_run(found.info.run_id)
        return self._send(run, replayed=True)
