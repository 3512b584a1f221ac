"""Drop-to-done latency of one small text file on an idle local zone.

    python benchmarks/bench_dropzones_latency.py [--drops 50]

A worker runs in a background thread (watchdog + LISTEN/NOTIFY); each drop goes
through ``UnifiedDropZones.drop`` and is timed until its ledger row is ``done``.
The ``archive`` pipeline (no parsing) is the baseline measured in the same run; the
``extract`` pipeline adds the isolated extraction child. Target: p50 < 1 s.
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time

from _dropzones_bench import bench_env


def measure(dz, zone: str, root, drops: int) -> list[float]:
    worker = dz.worker([zone], track=False, poll_seconds=0.5)
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    time.sleep(1.0)
    out = []
    src = root / f"src-{zone}.txt"
    for i in range(drops):
        src.write_text(f"small text file number {i} for {zone}")
        t0 = time.perf_counter()
        dropped = dz.drop(src, zone=zone, name=f"f{i}.txt")
        while True:
            with dz.sm.connection() as conn:
                state = conn.execute(
                    "SELECT state FROM files WHERE zone = %s AND key = %s",
                    (zone, dropped.key.removeprefix("incoming/")),
                ).fetchone()
            if state and state[0] == "done":
                break
            time.sleep(0.005)
        out.append(time.perf_counter() - t0)
    worker.stop()
    thread.join(30)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--drops", type=int, default=50)
    args = parser.parse_args()

    def zones(root):
        return [
            {"name": p, "source": str(root / p), "pipeline": p, "quiet_period": 0.0}
            for p in ("archive", "extract")
        ]

    with bench_env(zones) as (dz, root, _):
        results = {p: measure(dz, p, root, args.drops) for p in ("archive", "extract")}
    for name, values in results.items():
        q = statistics.quantiles(values, n=20)
        print(f"{name:8s} p50 {statistics.median(values):.3f} s  p95 {q[18]:.3f} s")
    ratio = statistics.median(results["extract"]) / statistics.median(results["archive"])
    print(f"extract / archive p50 ratio: {ratio:.1f}x (target: extract p50 < 1 s)")


if __name__ == "__main__":
    main()
