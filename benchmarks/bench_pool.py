"""SELECT 1 through the session manager's pool vs a bare psycopg pool, same server, same run.

    python benchmarks/bench_pool.py [--seconds 3]

Both pools get identical size and checkout checks (``check_connection``), so
the ratio measures only what the manager adds (its lock-free cache lookup,
the context manager, error wrapping). Prints queries/s per thread count and
the overhead ratio; run it a few times, the machine is shared and noisy.
"""

from __future__ import annotations

import argparse
import shutil
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
    parser.add_argument("--seconds", type=float, default=3.0)
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
        print(f"{'threads':>7} {'bare q/s':>10} {'manager q/s':>12} {'overhead':>9}")
        for threads in (1, 8, 32):
            # Interleave and repeat so drift on a noisy machine hits both sides alike.
            b = m = 0.0
            for _ in range(2):
                b += rate(bare.connection, threads, args.seconds / 2)
                m += rate(sm.connection, threads, args.seconds / 2)
            print(f"{threads:>7} {b / 2:>10.0f} {m / 2:>12.0f} {(b / m - 1) * 100:>8.1f}%")
        sm.close()
        bare.close()
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
