"""Ledger throughput with a no-op pipeline vs a bare FOR UPDATE SKIP LOCKED loop.

    python benchmarks/bench_dropzones_throughput.py [--files 1000] [--processes 1,2,4]

The engine (claim with lease, hash, content claim, plan, link/unlink move, finish,
events) runs the ``archive`` pipeline on a local zone with 1 and 4 worker threads
in this process, then with N separate ``tidyllm worker --once`` processes (how
workers scale out). The baseline, in the same database and run, claims and
completes rows of a bare table with one ``FOR UPDATE SKIP LOCKED`` statement
each. Target: >= 200 files/s.

For processes two rates are printed: wall time from launch to the last exit
(includes each interpreter's ~1 s start-up and the scan), and the ledger's own
span from the first claim to the last finish (``min(started_at)`` to
``max(finished_at)``), which is the processing rate once the workers run.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import yaml
from _dropzones_bench import bench_env

BARE_TABLE = "CREATE TABLE bare_queue (id bigserial PRIMARY KEY, state text NOT NULL)"
BARE_CLAIM = """
UPDATE bare_queue SET state = 'done' WHERE id = (
    SELECT id FROM bare_queue WHERE state = 'pending' ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)
RETURNING id
"""


def bare(dz, n: int, threads: int) -> float:
    with dz.sm.connection() as conn:
        conn.execute("DROP TABLE IF EXISTS bare_queue")
        conn.execute(BARE_TABLE)
        conn.execute(
            "INSERT INTO bare_queue (state) SELECT 'pending' FROM generate_series(1, %s)", (n,)
        )

    def loop():
        while True:
            with dz.sm.connection() as conn:
                if conn.execute(BARE_CLAIM).fetchone() is None:
                    return

    t0 = time.perf_counter()
    ts = [threading.Thread(target=loop) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return n / (time.perf_counter() - t0)


def engine(dz, root, zone: str, n: int, threads: int) -> float:
    incoming = root / zone / "incoming"
    incoming.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        (incoming / f"f{i:05d}.txt").write_text(f"file {i} in {zone}")
    w = dz.worker([zone], concurrency=threads, track=False, watch=False)
    t0 = time.perf_counter()
    summary = w.run(once=True)
    elapsed = time.perf_counter() - t0
    assert summary.count("done") == n, summary.count("done")
    return n / elapsed


def processes(dz, root: Path, url: str, zone: dict, n: int, count: int) -> tuple[float, float]:
    """``count`` worker processes drain ``n`` files; returns (wall files/s, ledger files/s)."""
    incoming = Path(zone["source"]) / "incoming"
    incoming.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        (incoming / f"f{i:05d}.txt").write_text(f"file {i} in {zone['name']}")
    config = root / f"{zone['name']}.yaml"
    config.write_text(yaml.safe_dump({"zones": [zone]}))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TIDYLLM_", "DATABASE_URL"))}
    env.update(
        TIDYLLM_DATA_DIR=str(dz.sm.settings.data_dir), DATABASE_URL=url, TIDYLLM_CONFIG=str(config)
    )
    command = [sys.executable, "-c", "from tidyllm.cli.main import run; run()", "worker"]
    command += ["--once", "--no-track", "--zone", zone["name"]]
    started = time.perf_counter()
    workers = [subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL) for _ in range(count)]
    if any(w.wait() for w in workers):
        raise SystemExit("a worker process failed")
    wall = time.perf_counter() - started
    with dz.sm.connection() as conn:
        done, span = conn.execute(
            "SELECT count(*) FILTER (WHERE state = 'done'), "
            "extract(epoch FROM max(finished_at) - min(started_at)) FROM files WHERE zone = %s",
            (zone["name"],),
        ).fetchone()
    assert done == n, done
    return n / wall, n / float(span)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--processes", default="1,2,4", help="worker process counts")
    args = parser.parse_args()
    counts = [int(c) for c in args.processes.split(",") if c]

    def zone(root, name):
        return {
            "name": name,
            "source": str(root / name),
            "pipeline": "archive",
            "quiet_period": 0.0,
        }

    def zones(root):
        return [zone(root, f"w{t}") for t in (1, 4)] + [zone(root, f"p{c}") for c in counts]

    with bench_env(zones) as (dz, root, url):
        for threads in (1, 4):
            base = bare(dz, args.files, threads)
            eng = engine(dz, root, f"w{threads}", args.files, threads)
            print(
                f"{threads} worker thread(s), one process: engine {eng:7.1f} files/s, "
                f"bare SKIP LOCKED {base:7.1f} rows/s, ratio {eng / base:.2f}"
            )
        for count in counts:
            wall, ledger = processes(dz, root, url, zone(root, f"p{count}"), args.files, count)
            print(
                f"{count} worker process(es): {ledger:7.1f} files/s first claim to last finish, "
                f"{wall:7.1f} files/s wall incl. start-up"
            )


if __name__ == "__main__":
    main()
