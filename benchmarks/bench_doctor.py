"""Wall time of `tidyllm doctor` on embedded defaults with the database already initialised.

    python benchmarks/bench_doctor.py [--runs 5]

Each run is a fresh `tidyllm doctor` process, as a user would type it. The
baseline, measured in the same run, is the bare interpreter start plus
`import tidyllm.cli.main`, so the ratio shows what the probes themselves cost.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tidyllm.db import stop_embedded


def timed(args: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(args, env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    data = Path(tempfile.mkdtemp(prefix="tidyllm-bench-doctor-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TIDYLLM_", "DATABASE_URL"))}
    env["TIDYLLM_DATA_DIR"] = str(data)
    doctor = [sys.executable, "-c", "from tidyllm.cli.main import run; run()", "doctor"]
    baseline = [sys.executable, "-c", "import tidyllm.cli.main"]
    try:
        first = timed(doctor, env)  # initialises: starts PostgreSQL, migrates, creates MLflow DB
        warm = [timed(doctor, env) for _ in range(args.runs)]
        base = [timed(baseline, env) for _ in range(args.runs)]
    finally:
        stop_embedded(data)
        shutil.rmtree(data, ignore_errors=True)
    p50 = statistics.median(warm)
    print(f"first doctor (fresh data dir, initialises everything): {first:.2f} s")
    print(f"doctor, initialised, median of {args.runs}: {p50:.2f} s (max {max(warm):.2f} s)")
    print(f"baseline (interpreter + import tidyllm.cli.main): {statistics.median(base):.2f} s")
    print(f"probes cost: {p50 - statistics.median(base):.2f} s; target: doctor < 3 s")


if __name__ == "__main__":
    main()
