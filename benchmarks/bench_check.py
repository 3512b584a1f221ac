"""Benchmark: `tidyllm check` vs `ruff check --select TID251` on a generated 100k-line tree.

Run:  python benchmarks/bench_check.py [--lines 100000] [--repeat 3]

Both tools run as subprocesses on the same tree in the same run (these
machines are noisy, so only the ratio is meaningful); the best of
``--repeat`` runs is reported. ruff gets an equivalent banned-api table
(TID251 bans imports of the same APIs; it has no per-module allow-list and
does not see calls, aliases through local modules or dynamic imports).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tidyllm.archcheck.rules import CALL_RULES

TEMPLATE = '''"""Generated module {i}."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

import boto3
import psycopg2
from mlflow import MlflowClient


@dataclass
class Record{i}:
    key: str
    size: int
    tags: list[str]

    def describe(self) -> str:
        return f"{{self.key}} ({{self.size}} bytes)"


def load_{i}(path: str) -> list[Record{i}]:
    with open(path, encoding="utf-8") as handle:
        raw = json.load(handle)
    out = []
    for item in raw:
        if not item.get("key"):
            continue
        out.append(Record{i}(item["key"], int(item.get("size", 0)), list(item.get("tags", []))))
    return out


def summarise_{i}(records: list[Record{i}]) -> dict[str, int]:
    totals: dict[str, int] = {{}}
    for record in records:
        for tag in record.tags:
            totals[tag] = totals.get(tag, 0) + record.size
    return dict(sorted(totals.items()))


class Service{i}:
    def __init__(self, region: str) -> None:
        self.region = region
        self.client = boto3.client("s3", region_name=region)

    def upload(self, key: str, body: bytes) -> None:
        self.client.put_object(Bucket="bucket", Key=key, Body=body)

    def rows(self, dsn: str) -> list[tuple]:
        conn = psycopg2.connect(dsn)
        try:
            cur = conn.cursor()
            cur.execute("SELECT key, size FROM files WHERE size > %s", (10,))
            return cur.fetchall()
        finally:
            conn.close()

    def track(self) -> None:
        client = MlflowClient()
        client.search_experiments()


def helper_{i}(values: list[int]) -> int:
    total = 0
    for value in values:
        if value % 2:
            total += value * 3
        else:
            total -= value
    return total


def env_{i}() -> str | None:
    return os.environ.get("HOME")
'''


def generate(root: Path, lines: int) -> tuple[int, int]:
    """Write packages of generated modules until ``lines`` lines exist."""
    written = files = 0
    package = None
    while written < lines:
        if files % 50 == 0:
            package = root / f"pkg{files // 50}"
            package.mkdir()
            (package / "__init__.py").write_text("")
        text = TEMPLATE.format(i=files)
        (package / f"mod{files}.py").write_text(text)
        written += text.count("\n")
        files += 1
    return written, files


def ruff_config(path: Path) -> None:
    """An equivalent TID251 banned-api table: the same callables, by import."""
    banned = sorted({name for name in CALL_RULES} | {"psycopg2.connect", "mlflow.MlflowClient"})
    lines = ["[lint.flake8-tidy-imports.banned-api]"]
    lines += [f'"{name}".msg = "use tidyllm.UnifiedSessionManager"' for name in banned]
    path.write_text("\n".join(lines) + "\n")


def timed(cmd: list[str], repeat: int) -> tuple[float, subprocess.CompletedProcess[str]]:
    best = float("inf")
    proc = None
    for _ in range(repeat):
        start = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        best = min(best, time.perf_counter() - start)
    assert proc is not None
    return best, proc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    ruff = shutil.which("ruff") or str(Path(sys.executable).with_name("ruff"))
    with tempfile.TemporaryDirectory(prefix="tidyllm-bench-") as tmp:
        root = Path(tmp) / "tree"
        root.mkdir()
        lines, files = generate(root, args.lines)
        config = Path(tmp) / "ruff.toml"
        ruff_config(config)
        print(f"tree: {lines} lines in {files} files")
        base = [sys.executable, "-m", "tidyllm.archcheck", "check", str(root), "-f", "json"]
        results = {}
        for label, cmd in (
            ("tidyllm check (1 process)", [*base, "--jobs", "1"]),
            ("tidyllm check (--jobs 0)", [*base, "--jobs", "0"]),
            (
                "ruff check --select TID251",
                [
                    ruff,
                    "check",
                    "--no-cache",
                    "--select",
                    "TID251",
                    "--config",
                    str(config),
                    "--output-format",
                    "concise",
                    str(root),
                ],
            ),
        ):
            seconds, proc = timed(cmd, args.repeat)
            count = (
                proc.stdout.count('"rule":') if "tidyllm" in label else proc.stdout.count("TID251")
            )
            results[label] = seconds
            print(f"{label:32s} {seconds:7.2f} s  exit {proc.returncode}  findings {count}")
        ruff_s = results["ruff check --select TID251"]
        for label in ("tidyllm check (1 process)", "tidyllm check (--jobs 0)"):
            print(f"ratio {label} / ruff: {results[label] / ruff_s:.1f}x")
        target = min(results["tidyllm check (1 process)"], results["tidyllm check (--jobs 0)"])
        print(f"target < 10 s: {'met' if target < 10 else 'NOT met'} ({target:.2f} s)")


if __name__ == "__main__":
    main()
