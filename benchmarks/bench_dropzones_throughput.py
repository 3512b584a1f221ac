"""Ledger throughput with a no-op pipeline vs a bare FOR UPDATE SKIP LOCKED loop.

    python benchmarks/bench_dropzones_throughput.py [--files 1000]

The engine (claim with lease, hash, content claim, plan, link/unlink move, finish,
events) runs the ``archive`` pipeline on a local zone with 1 and 4 worker threads.
The baseline, in the same database and run, claims and completes rows of a bare
table with one ``FOR UPDATE SKIP LOCKED`` statement each. Target: >= 200 files/s.
"""

from __future__ import annotations

import argparse
import threading
import time

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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=1000)
    args = parser.parse_args()

    def zones(root):
        return [
            {
                "name": f"w{t}",
                "source": str(root / f"w{t}"),
                "pipeline": "archive",
                "quiet_period": 0.0,
            }
            for t in (1, 4)
        ]

    with bench_env(zones) as (dz, root, _):
        for threads in (1, 4):
            base = bare(dz, args.files, threads)
            eng = engine(dz, root, f"w{threads}", args.files, threads)
            print(
                f"{threads} worker(s): engine {eng:7.1f} files/s, bare SKIP LOCKED "
                f"{base:7.1f} rows/s, ratio {eng / base:.2f}"
            )


if __name__ == "__main__":
    main()
