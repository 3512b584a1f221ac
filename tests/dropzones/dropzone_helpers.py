"""Shared helpers for the drop-zone tests: sessions, zones, and reading a zone's folders."""

from __future__ import annotations

import os
import sys
import textwrap
from pathlib import Path
from typing import Any

from tidyllm.dropzones import UnifiedDropZones
from tidyllm.session import UnifiedSessionManager


def zone_conf(name: str, source: str, **extra: Any) -> dict[str, Any]:
    conf = {"name": name, "source": source, "pipeline": "archive", "quiet_period": 0.0}
    conf.update(extra)
    return conf


def open_dz(data_dir: Path, database_url: str, zones: list[dict], **more: Any) -> UnifiedDropZones:
    sm = UnifiedSessionManager(
        data_dir=str(data_dir), database={"url": database_url}, zones=zones, **more
    )
    return UnifiedDropZones(sm)


def tree(root: Path) -> dict[str, list[str]]:
    """Names under a local zone's three folders (relative), symlinks included."""
    out: dict[str, list[str]] = {}
    for folder in ("incoming", "processed", "failed"):
        base = root / folder
        names = []
        for dirpath, dirnames, filenames in os.walk(base):
            for name in filenames + [d for d in dirnames if os.path.islink(Path(dirpath, d))]:
                names.append(os.path.relpath(Path(dirpath, name), base))
        out[folder] = sorted(names)
    return out


def rows(dz: UnifiedDropZones, zone: str | None = None) -> list[dict[str, Any]]:
    with dz.sm.connection() as conn:
        cur = conn.execute(
            "SELECT * FROM files WHERE %(z)s::text IS NULL OR zone = %(z)s ORDER BY id",
            {"z": zone},
        )
        names = [d.name for d in cur.description]
        return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def cli_args(*args: str) -> list[str]:
    """A subprocess argument list running the real `tidyllm` CLI."""
    return [sys.executable, "-c", "from tidyllm.cli.main import run; run()", *args]


def wait_for(predicate, timeout: float = 30.0, interval: float = 0.1):
    """Poll ``predicate`` until it returns something truthy; fail after ``timeout``."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s")


class Progress:
    """Tells a stuck run from a slow one: stalled once a counter has not grown for ``limit`` s.

    Chaos tests loop until their work is done and fail only when nothing moves, so a
    loaded machine makes them slower, never red.
    """

    def __init__(self, limit: float) -> None:
        import time

        self.limit, self.best, self.since = limit, -1, time.monotonic()

    def stalled(self, value: int) -> bool:
        import time

        if value > self.best:
            self.best, self.since = value, time.monotonic()
        return time.monotonic() - self.since > self.limit


def finished_count(dz: UnifiedDropZones) -> int:
    """Ledger rows in a final state; -1 while the database is unreachable (a restart)."""
    from tidyllm.dropzones.ledger import TERMINAL_STATES

    try:
        with dz.sm.connection() as conn:
            sql = "SELECT count(*) FROM files WHERE state = ANY(%s)"
            return conn.execute(sql, (list(TERMINAL_STATES),)).fetchone()[0]
    except Exception:  # the pool's or the driver's error while PostgreSQL restarts
        return -1


class BackgroundWorker:
    """A Worker.run() in a thread, stopped (gracefully) on exit."""

    def __init__(self, dz: UnifiedDropZones, zones=None, **options: Any) -> None:
        import threading

        self.worker = dz.worker(zones, **options)
        self.thread = threading.Thread(target=self.worker.run, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self.worker

    def __exit__(self, *exc: object) -> None:
        self.worker.stop()
        self.thread.join(30)
        assert not self.thread.is_alive()


# A named test double: a pipeline step that holds its file for SLOW_STEP_SECONDS, so a
# test can signal or kill a worker while it is in the middle of a file. Registered in-process,
# then the real CLI runs.
SLOW_WORKER = textwrap.dedent(
    """
    import os, sys, time
    from tidyllm.dropzones import register_step

    class SlowStep:
        name = "slow"
        version = "1"
        def run(self, ctx):
            time.sleep(float(os.environ.get("SLOW_STEP_SECONDS", "0")))
            return {"slept": True}

    register_step(SlowStep())
    from tidyllm.cli.main import run
    sys.argv = ["tidyllm", *sys.argv[1:]]
    run()
    """
)
