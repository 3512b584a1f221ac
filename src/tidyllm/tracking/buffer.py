"""A disk buffer of runs that could not reach MLflow, replayed later.

Layout under the buffer folder::

    pending/<run_key>/run.json          one run, oldest key first
    pending/<run_key>/artifacts/<name>  its artifacts, already redacted
    tmp/<run_key>/                      a run being written (not yet visible)
    failed/<run_key>/                   runs that could not be replayed, kept, never deleted
    replay.lock                         held by the one process replaying right now

A run is written completely into ``tmp/`` and fsynced, then renamed into
``pending/`` in one step, so a reader sees either the whole run or nothing,
even after a crash or a full disk. Only the holder of ``replay.lock`` (an OS
file lock, released when its process dies) removes or moves runs, so two
processes replaying at once never send a run twice.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

from filelock import FileLock, Timeout

from tidyllm.errors import BufferedRunCorrupt, InvalidRunData, TrackingError
from tidyllm.redaction import redact
from tidyllm.tracking.run import PreparedRun, is_run_key, prepare_run

FORMAT = "tidyllm.tracking.buffered-run"
VERSION = 1
RUN_FILE = "run.json"
ARTIFACTS = "artifacts"
STALE_TMP_SECONDS = 3600.0  # a tmp/ entry this old belongs to a writer that died


def read_document(path: Path, fmt: str, version: int, key_field: str, key: str) -> dict:
    """A buffered JSON document whose format, version and key are checked.

    Raises :class:`BufferedRunCorrupt` naming ``path`` for anything else, so one
    damaged file is reported and skipped rather than stopping a replay.
    """
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise BufferedRunCorrupt(path, f"not readable JSON ({redact(exc)})") from exc
    if not isinstance(doc, dict) or doc.get("format") != fmt:
        raise BufferedRunCorrupt(path, f"not a {fmt} document")
    if doc.get("version") != version:
        raise BufferedRunCorrupt(path, f"unsupported version {redact(doc.get('version'))!r}")
    if doc.get(key_field) != key or not is_run_key(key):
        name = key_field.replace("_", " ")
        raise BufferedRunCorrupt(path, f"its {name} does not match its folder name")
    return doc


class RunBuffer:
    """Pending runs on disk; see the module docstring for the layout and its guarantees."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.pending_dir = self.root / "pending"
        self.tmp_dir = self.root / "tmp"
        self.failed_dir = self.root / "failed"
        self._lock = FileLock(self.root / "replay.lock", timeout=0)

    # -- writing -----------------------------------------------------------------

    def write(self, run: PreparedRun) -> str:
        """Store ``run`` atomically and durably; return its buffer id (the run key)."""
        staging = self.tmp_dir / run.run_key
        try:
            self.pending_dir.mkdir(parents=True, exist_ok=True)
            staging.mkdir(parents=True)
            for name, data in run.artifacts.items():
                target = staging / ARTIFACTS / name
                target.parent.mkdir(parents=True, exist_ok=True)
                _write_synced(target, data)
            _write_synced(staging / RUN_FILE, _encode(run))
            _fsync_dir(staging)
            os.rename(staging, self.pending_dir / run.run_key)
            _fsync_dir(self.pending_dir)
        except OSError as exc:
            shutil.rmtree(staging, ignore_errors=True)
            raise TrackingError(
                f"MLflow is unreachable and the run could not be buffered in {self.root}:"
                f" {redact(exc)}"
            ) from exc
        return run.run_key

    # -- reading -----------------------------------------------------------------

    def pending_keys(self) -> list[str]:
        """Buffer ids of the complete pending runs, oldest first."""
        try:
            names = os.listdir(self.pending_dir)
        except FileNotFoundError:
            return []
        except OSError as exc:
            detail = redact(exc)
            raise TrackingError(f"cannot read the tracking buffer {self.root}: {detail}") from exc
        return sorted(n for n in names if not n.startswith("."))

    def count(self) -> int:
        """How many runs wait for replay."""
        return len(self.pending_keys())

    def failed_runs(self) -> list[Path]:
        """Runs moved aside because they could not be replayed (for ``tidyllm doctor``)."""
        try:
            entries = self.failed_dir.iterdir()
            return sorted(p for p in entries if not p.name.endswith(".reason.txt"))
        except FileNotFoundError:
            return []

    def run_file(self, key: str) -> Path:
        """The JSON file of a pending run (named in error messages)."""
        return self.pending_dir / key / RUN_FILE

    def read(self, key: str) -> PreparedRun:
        """Load and re-validate a pending run; :class:`BufferedRunCorrupt` names a bad file."""
        path = self.run_file(key)
        doc = read_document(path, FORMAT, VERSION, "run_key", key)
        names = doc.get("artifacts")
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise BufferedRunCorrupt(path, "'artifacts' is not a list of names")
        try:
            artifacts = {n: self._artifact_path(key, n) for n in names}
            return prepare_run(
                experiment=doc.get("experiment"),  # type: ignore[arg-type] - checked inside
                run_name=doc.get("run_name"),
                params=doc.get("params"),  # type: ignore[arg-type]
                metrics=doc.get("metrics"),  # type: ignore[arg-type]
                tags=doc.get("tags"),  # type: ignore[arg-type]
                artifacts=artifacts,
                run_key=key,
                time_ms=doc.get("time_ms"),  # type: ignore[arg-type]
            )
        except InvalidRunData as exc:
            raise BufferedRunCorrupt(path, str(exc)) from exc

    def _artifact_path(self, key: str, name: str) -> Path:
        base = (self.pending_dir / key / ARTIFACTS).resolve()
        path = (base / name).resolve()
        if not path.is_relative_to(base):
            raise InvalidRunData(f"artifact {redact(name)!r} points outside the buffered run")
        return path

    # -- removing (replay lock holders only) ----------------------------------------

    @contextlib.contextmanager
    def claim(self) -> Iterator[bool]:
        """Try to become the one replaying process; yield False at once if another is."""
        self.root.mkdir(parents=True, exist_ok=True)
        try:
            self._lock.acquire()
        except Timeout:
            yield False
            return
        try:
            self._clean_stale_tmp()
            yield True
        finally:
            self._lock.release()

    def remove(self, key: str) -> None:
        """Delete a pending run once it is fully logged in MLflow."""
        folder = self.pending_dir / key
        # Rename first so a crash mid-delete never leaves a half run in pending/.
        doomed = self.tmp_dir / f".sent-{key}"
        self.tmp_dir.mkdir(parents=True, exist_ok=True)
        os.rename(folder, doomed)
        shutil.rmtree(doomed, ignore_errors=True)

    def move_aside(self, key: str, reason: str) -> Path:
        """Move a run that cannot be replayed to ``failed/`` with the reason; never delete it."""
        self.failed_dir.mkdir(parents=True, exist_ok=True)
        target = self.failed_dir / key
        if target.exists():
            target = self.failed_dir / f"{key}.{time.time_ns()}"
        os.rename(self.pending_dir / key, target)
        note = (
            target / "reason.txt"
            if target.is_dir()
            else target.with_name(target.name + ".reason.txt")
        )
        note.write_text(redact(reason) + "\n", encoding="utf-8")
        return target

    def _clean_stale_tmp(self) -> None:
        try:
            entries = list(self.tmp_dir.iterdir())
        except FileNotFoundError:
            return
        now = time.time()
        for entry in entries:
            sent = entry.name.startswith(".sent-")
            with contextlib.suppress(OSError):
                if sent or now - entry.stat().st_mtime > STALE_TMP_SECONDS:
                    shutil.rmtree(entry, ignore_errors=True)


def _encode(run: PreparedRun) -> bytes:
    doc = {
        "format": FORMAT,
        "version": VERSION,
        "run_key": run.run_key,
        "experiment": run.experiment,
        "run_name": run.run_name,
        "time_ms": run.time_ms,
        "params": run.params,
        "metrics": run.metrics,
        "tags": run.tags,
        "artifacts": sorted(run.artifacts),
    }
    return json.dumps(doc, indent=1, sort_keys=True).encode("utf-8")


def _write_synced(path: Path, data: bytes) -> None:
    with open(path, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def _fsync_dir(path: Path) -> None:
    if os.name != "posix":
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
