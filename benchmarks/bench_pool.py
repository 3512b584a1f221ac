"""SELECT 1 through the session manager's pool vs a bare psycopg pool, same server, same run.

    python benchmarks/bench_pool.py [--seconds 6] [--rounds 8]

Both pools get identical size and checkout checks (``check_connection``), so
the ratio measures only what the manager adds (its lock-free cache lookup,
the context manager, error wrapping). Prints queries/s per thread count and
the overhead ratio; run it a few times, the machine is shared and noisy.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import threading
import time
from pathlib import Path

from _services import EmbeddedPostgres
from psycopg_pool import ConnectionPool

from tidyllm import UnifiedSessionManager


def rate(checkout, threads: int, seconds: float) -> float:
    """Queries per second with ``threads`` threads hammering ``checkout``."""
    stop = time.monotonic() + seconds
    counts = [0] * threads

    def work(i: int) -> None:
        n = 0
        while time.monotonic() < stop:
            with checkout() as conn:
                conn.execute("SELECT 1").fetchone()
            n += 1
        counts[i] = n

    pool = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return sum(counts) / seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=6.0, help="per side and thread count")
    parser.add_argument("--rounds", type=int, default=8)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="tidyllm-bench-pool-"))
    server = EmbeddedPostgres(root / "pg")
    try:
        bare = ConnectionPool(
            server.url, min_size=10, max_size=10, check=ConnectionPool.check_connection, open=True
        )
        bare.wait()
        sm = UnifiedSessionManager(
            data_dir=root / "data", database={"url": server.url, "pool_min": 10, "pool_max": 10}
        )
        sm.db().wait()
        header = "overhead (median of rounds)"
        print(f"{'threads':>7} {'bare q/s':>10} {'manager q/s':>12} {header:>28}")
        for threads in (1, 8, 32):
            # Short alternating rounds, so drift on a noisy machine hits both sides alike;
            # the median per-round ratio ignores rounds disturbed by other processes.
            rounds = [
                (rate(bare.connection, threads, slice_), rate(sm.connection, threads, slice_))
                for slice_ in [args.seconds / args.rounds] * args.rounds
            ]
            b = statistics.median(r[0] for r in rounds)
            m = statistics.median(r[1] for r in rounds)
            overhead = statistics.median(r[0] / r[1] - 1 for r in rounds) * 100
            print(f"{threads:>7} {b:>10.0f} {m:>12.0f} {overhead:>27.1f}%")
        sm.close()
        bare.close()
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
