"""Wall time of `tidyllm --help`, `doctor`, `search` and `ask`, with where the time goes.

    python benchmarks/bench_cli_latency.py [--runs 5] [--src PATH/TO/src]

Sets up its own data directory (embedded PostgreSQL, a domain holding the Fed
report from samples/), warms it (the embedded server keeps running, the first
run of each command creates what later runs reuse), then times each command
as a user types it: a fresh process, the median of ``--runs`` (wall time, and
the process's CPU time, which a busy machine inflates less).

The stage breakdown comes from the same work done step by step in a fresh
process, also the median of ``--runs``: imports (the CLI, then the libraries
the command needs), settings, attaching to the embedded server, loading the
embedding model (first query), a search, an answer without tracing, and what
tracing adds to an answer; plus each doctor probe (they run in parallel, so
doctor waits for the slowest).

``--src`` measures another checkout (e.g. ``git worktree add /tmp/before
<commit>`` then ``--src /tmp/before/src``) with this same script and venv.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FED = ROOT / "samples" / "fed-sr-model-validation-stress-testing-2015.pdf"
DOMAIN = "bench"
QUERY = "stress testing of models"
QUESTION = "What is model validation?"

COMMANDS = {
    "--help": ["--help"],
    "doctor": ["doctor"],
    "search": ["search", DOMAIN, QUERY],
    "ask": ["ask", DOMAIN, QUESTION],
}

# Runs in a fresh process; prints one JSON object of stage -> seconds.
STAGES = """
import json, sys, time
t = time.perf_counter
stages, start = {}, t()
import tidyllm.cli.main
stages["imports: CLI"] = t() - start; mark = t()
from tidyllm.settings import load_settings
from tidyllm.session import UnifiedSessionManager
from tidyllm.knowledge import search
from tidyllm.answering import ask
stages["imports: session, knowledge, answering"] = t() - mark; mark = t()
loaded = load_settings()
stages["settings"] = t() - mark; mark = t()
with UnifiedSessionManager(loaded) as sm:
    with sm.connection() as conn:
        conn.execute("SELECT 1").fetchone()
    stages["server attach"] = t() - mark; mark = t()
    sm.embedder().embed_query("warm up")
    stages["model load (first query)"] = t() - mark; mark = t()
    search(sm, sys.argv[1], sys.argv[2])
    stages["search"] = t() - mark; mark = t()
    ask(sm, sys.argv[1], sys.argv[3], trace=False)
    stages["answer (search + answer, no trace)"] = t() - mark; mark = t()
    ask(sm, sys.argv[1], sys.argv[3], trace=True)
    untraced = stages["answer (search + answer, no trace)"]
    stages["tracing (ask with trace - without)"] = t() - mark - untraced
with UnifiedSessionManager(load_settings()) as sm:
    for result in sm.health():
        stages["doctor probe: " + result.service] = result.latency_ms / 1000
print(json.dumps(stages))
"""


def _cli() -> list[str]:
    return [sys.executable, "-c", "from tidyllm.cli.main import run; run()"]


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _run(args: list[str], env: dict[str, str], cwd: Path) -> float:
    return _timed(args, env, cwd)[0]


def _timed(args: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """Wall and CPU (user + system) seconds of one command."""
    start, cpu = time.perf_counter(), _cpu()
    proc = subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True)
    elapsed, used = time.perf_counter() - start, _cpu() - cpu
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(args[3:])} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return elapsed, used


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--src", type=Path, help="the src/ folder to measure (default: this one)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()

    data = Path(tempfile.mkdtemp(prefix="tidyllm-bench-cli-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TIDYLLM_", "DATABASE_URL"))}
    env.update(TIDYLLM_DATA_DIR=str(data), AWS_EC2_METADATA_DISABLED="true")
    if args.src is not None:
        env["PYTHONPATH"] = str(args.src.resolve())
    src = args.src or Path(__file__).resolve().parents[1] / "src"
    if (src / "tidyllm" / "tracking" / "outbox.py").exists():
        # A traced command hands its trace to a detached flush process; on 2 cores that
        # process would compete with the next timed command. It is off the command's
        # path by design, so it is left out here ("tracing" below is what a trace adds).
        env["TIDYLLM_MLFLOW__BACKGROUND_FLUSH"] = "false"
    cli = _cli()
    where = subprocess.run(
        [sys.executable, "-c", "import tidyllm; print(tidyllm.__file__)"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"measuring {where}; data dir {data}; {os.cpu_count()} cores, load average {load}")
    try:
        setup = time.perf_counter()
        _run([*cli, "domains", "create", DOMAIN], env, data)
        _run([*cli, "ingest", DOMAIN, str(FED), "--no-track"], env, data)
        for command in COMMANDS.values():  # warm-up: first-run work is not what we measure
            _run([*cli, *command], env, data)
        print(f"set-up and warm-up: {time.perf_counter() - setup:.1f} s\n")

        results: dict[str, dict[str, float]] = {}
        for name, command in COMMANDS.items():
            pairs = [_timed([*cli, *command], env, data) for _ in range(args.runs)]
            times = [wall for wall, _ in pairs]
            results[name] = {
                "median": statistics.median(times),
                "min": min(times),
                "max": max(times),
                "cpu": statistics.median(cpu for _, cpu in pairs),
            }
            print(
                f"tidyllm {name:8} median {results[name]['median']:.2f} s "
                f"(min {min(times):.2f}, max {max(times):.2f}, {args.runs} runs; "
                f"CPU {results[name]['cpu']:.2f} s)"
            )

        runs = []
        for _ in range(args.runs):
            proc = subprocess.run(
                [sys.executable, "-c", STAGES, DOMAIN, QUERY, QUESTION],
                env=env,
                cwd=data,
                capture_output=True,
                text=True,
            )
            if proc.returncode != 0:
                raise SystemExit(f"stage run failed:\n{proc.stderr[-3000:]}")
            runs.append(json.loads(proc.stdout.strip().splitlines()[-1]))
        stages = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
        print(f"\nstages (fresh process, median of {args.runs}):")
        for key, seconds in stages.items():
            print(f"  {key:42} {seconds:6.3f} s")
        if args.json:
            args.json.write_text(json.dumps({"commands": results, "stages": stages}, indent=2))
    finally:
        from tidyllm.db import stop_embedded

        stop_embedded(data)
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
