"""Benchmark: `tidyllm check`, `tidyllm migrate` and ruff TID251 on the same trees, in one run.

Run:  python benchmarks/bench_check.py [TREE ...] [--files 945 --lines 266851]
                                       [--old-rev HEAD~1] [--old-migrate] [--repeat 1]

Always measures a generated tree shaped like the legacy repository of issue
14 (RudyMartin/TidyLLM at f210bcc: 945 files, 266,851 lines; see
``tests/archcheck/synthetic_tree.py``), plus every TREE given. Every tool
runs as a subprocess; wall time and the CPU time of the child processes
(user + system, every worker included) are reported, because these shared
machines are noisy and CPU time is what does not depend on the neighbours.

``--old-rev`` also runs the archcheck of another commit (extracted with
``git archive`` into a temporary folder) for the before/after ratio, and
checks that its findings are identical; ``--old-migrate`` runs that
commit's migrate too (slow: minutes). ruff gets an equivalent banned-api
table (TID251 bans imports of the same APIs; it sees no calls, aliases
through local modules or dynamic imports).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "archcheck"))

from synthetic_tree import LEGACY_FILES, LEGACY_LINES, generate_tree  # noqa: E402

from tidyllm.archcheck.rules import CALL_RULES  # noqa: E402


def ruff_config(path: Path) -> None:
    """An equivalent TID251 banned-api table: the same callables, by import."""
    lines = ["[lint.flake8-tidy-imports.banned-api]"]
    lines += [f'"{name}".msg = "use tidyllm.UnifiedSessionManager"' for name in sorted(CALL_RULES)]
    path.write_text("\n".join(lines) + "\n")


def timed(cmd: list[str], env: dict[str, str], repeat: int) -> tuple[float, float, str]:
    """Best wall time, its children's CPU time, and the output of the last run."""
    best = (float("inf"), 0.0)
    out = ""
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env)
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        if proc.returncode not in (0, 1):
            raise SystemExit(f"{cmd} failed ({proc.returncode}): {proc.stderr[-2000:]}")
        best = min(best, (wall, cpu))
        out = proc.stdout
    return best[0], best[1], out


def lines_in(tree: Path) -> tuple[int, int]:
    files = [p for p in tree.rglob("*.py") if ".venv" not in p.parts]
    return len(files), sum(p.read_bytes().count(b"\n") for p in files)


def bench_tree(tree: Path, args: argparse.Namespace, old_src: Path | None, ruff_toml: Path) -> None:
    files, lines = lines_in(tree)
    print(f"\n## {tree}  ({files} files, {lines:,} lines)")
    env = dict(os.environ)
    old_env = dict(env, PYTHONPATH=str(old_src)) if old_src else None
    py = [sys.executable, "-m", "tidyllm.archcheck"]
    ruff = shutil.which("ruff") or str(Path(sys.executable).with_name("ruff"))
    runs: list[tuple[str, list[str], dict[str, str]]] = [
        (
            "ruff check --select TID251",
            [
                ruff,
                "check",
                "--no-cache",
                "--select",
                "TID251",
                "--config",
                str(ruff_toml),
                "--output-format",
                "concise",
                str(tree),
            ],
            env,
        ),
        ("check (new, default -j0)", [*py, "check", str(tree), "-f", "json"], env),
        ("check (new, -j1)", [*py, "check", str(tree), "-f", "json", "-j1"], env),
        (
            "check (new, -j1 --no-prefilter)",
            [*py, "check", str(tree), "-f", "json", "-j1", "--no-prefilter"],
            env,
        ),
        ("migrate --diff (new, default -j0)", [*py, "migrate", str(tree), "--diff"], env),
    ]
    if old_env is not None:
        runs.insert(
            1, ("check (old, -j1)", [*py, "check", str(tree), "-f", "json", "--jobs", "1"], old_env)
        )
        runs.insert(
            2, ("check (old, -j0)", [*py, "check", str(tree), "-f", "json", "--jobs", "0"], old_env)
        )
        if args.old_migrate:
            runs.append(("migrate --diff (old)", [*py, "migrate", str(tree), "--diff"], old_env))
    results: dict[str, tuple[float, float]] = {}
    outputs: dict[str, str] = {}
    for label, cmd, run_env in runs:
        wall, cpu, out = timed(cmd, run_env, args.repeat)
        results[label] = (wall, cpu)
        outputs[label] = out
        print(f"{label:36s} {wall:8.2f} s wall {cpu:8.2f} s CPU")
        sys.stdout.flush()
    ruff_wall, ruff_cpu = results["ruff check --select TID251"]
    print("ratios to ruff (wall / CPU):")
    for label, (wall, cpu) in results.items():
        if not label.startswith("ruff"):
            print(f"  {label:36s} {wall / ruff_wall:7.1f}x {cpu / ruff_cpu:7.1f}x")
    new = json.loads(outputs["check (new, default -j0)"])["findings"]
    print(f"findings: {len(new)}")
    if old_env is not None:
        old = json.loads(outputs["check (old, -j1)"])["findings"]
        print(f"old findings identical to new: {old == new} ({len(old)} vs {len(new)})")
        o_wall, o_cpu = results["check (old, -j1)"]
        n_wall, n_cpu = results["check (new, default -j0)"]
        print(
            f"check speed-up, old -j1 -> new default: {o_wall / n_wall:.1f}x wall, "
            f"{o_cpu / n_cpu:.1f}x CPU"
        )
        o_wall, o_cpu = results["check (old, -j0)"]
        print(f"check speed-up, old -j0 -> new default: {o_wall / n_wall:.1f}x wall")
        n1_wall, n1_cpu = results["check (new, -j1)"]
        print(
            f"check speed-up, old -j1 -> new -j1: {results['check (old, -j1)'][0] / n1_wall:.1f}x "
            f"wall, {results['check (old, -j1)'][1] / n1_cpu:.1f}x CPU"
        )
    m_wall, m_cpu = results["migrate --diff (new, default -j0)"]
    print(
        f"migrate target < 10 s: {'met' if m_wall < 10 else 'NOT met'} ({m_wall:.2f} s wall, "
        f"{m_cpu:.2f} s CPU over {os.cpu_count()} CPUs)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("trees", nargs="*", type=Path, help="more trees to measure")
    parser.add_argument("--files", type=int, default=LEGACY_FILES)
    parser.add_argument("--lines", type=int, default=LEGACY_LINES)
    parser.add_argument("--old-rev", help="git revision of the archcheck to compare against")
    parser.add_argument("--old-migrate", action="store_true", help="also time the old migrate")
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tidyllm-bench-") as tmp:
        old_src = None
        if args.old_rev:
            archive = subprocess.run(
                ["git", "-C", str(REPO), "archive", args.old_rev, "src"],
                capture_output=True,
                check=True,
            ).stdout
            subprocess.run(["tar", "-x", "-C", tmp], input=archive, check=True)
            old_src = Path(tmp) / "src"
            print(f"old archcheck: {args.old_rev} ({old_src})")
        ruff_toml = Path(tmp) / "ruff.toml"
        ruff_config(ruff_toml)
        synthetic = Path(tmp) / "synthetic"
        spec = generate_tree(synthetic, files=args.files, lines=args.lines)
        print(
            f"synthetic tree: {spec.files} files, {spec.lines:,} lines, "
            f"{len(spec.violations)} planted violations ({len(spec.fixable)} fixable)"
        )
        for tree in [synthetic, *args.trees]:
            bench_tree(tree, args, old_src, ruff_toml)


if __name__ == "__main__":
    main()
