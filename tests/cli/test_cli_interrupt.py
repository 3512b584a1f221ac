"""Ctrl-C and SIGTERM end any CLI command cleanly: a message, exit 130, no native abort.

Real signals to real processes: ``tidyllm ingest`` of real PDFs is interrupted
once the ledger shows a file being processed; the same command run again
completes. A command that is only waiting (``chat`` reading its input) ends the
same way.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tidyllm.cli.errors import EXIT_INTERRUPTED, INTERRUPTED

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
FED = SAMPLES / "fed-sr-model-validation-stress-testing-2015.pdf"
CLI = [sys.executable, "-c", "from tidyllm.cli.main import run; run()"]


def _env(data_dir: Path, database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TIDYLLM_", "DATABASE_URL"))}
    env.update(
        TIDYLLM_DATA_DIR=str(data_dir),
        DATABASE_URL=database_url,
        AWS_EC2_METADATA_DISABLED="true",
    )
    return env


def _run(env: dict[str, str], *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    cwd = env["TIDYLLM_DATA_DIR"]  # no ./tidyllm.yaml there
    return subprocess.run(
        [*CLI, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout
    )


def _pdfs(folder: Path, count: int) -> Path:
    """``count`` real PDFs with different bytes (the sample report, each with its own comment)."""
    folder.mkdir()
    for i in range(count):
        target = folder / f"report-{i}.pdf"
        shutil.copyfile(FED, target)
        with target.open("ab") as out:
            out.write(f"%copy {i}\n".encode())
    return folder


def _ledger(data_dir: Path, database_url: str) -> list[tuple[str, str, str | None]]:
    from tidyllm.session import UnifiedSessionManager

    with UnifiedSessionManager(data_dir=data_dir, database={"url": database_url}) as sm:
        rows = sm.execute_postgres_query(
            "SELECT key, state, lease_owner FROM files WHERE zone = 'ingest-sig' ORDER BY key"
        )
    return [tuple(r) for r in rows]


def _wait_until(condition, proc: subprocess.Popen, what: str, timeout: float = 600):
    """Poll ``condition`` while ``proc`` runs; fail if it ends first or after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        if proc.poll() is not None:
            raise AssertionError(f"the command ended (exit {proc.returncode}) before {what}")
        time.sleep(0.2)
    raise AssertionError(f"{what} did not happen within {timeout}s")


def _assert_interrupted(proc: subprocess.Popen, err_path: Path) -> str:
    proc.wait(timeout=600)
    stderr = err_path.read_text(errors="replace")
    assert "terminate called" not in stderr
    assert "Traceback" not in stderr
    assert proc.returncode == EXIT_INTERRUPTED, stderr[-2000:]
    assert INTERRUPTED in stderr
    return stderr


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_interrupted_ingest_exits_130_and_the_same_command_completes(
    signum, data_dir, database_url, tmp_path
):
    env = _env(data_dir, database_url)
    created = _run(env, "domains", "create", "sig")
    assert created.returncode == 0, created.stderr
    source = _pdfs(tmp_path / "pdfs", 2)
    command = ["ingest", "sig", str(source), "--no-track"]
    err_path = tmp_path / "stderr.txt"
    with err_path.open("w") as err:
        proc = subprocess.Popen(
            [*CLI, *command], env=env, cwd=data_dir, stdout=subprocess.PIPE, stderr=err
        )
        try:
            _wait_until(
                lambda: [r for r in _ledger(data_dir, database_url) if r[1] == "processing"],
                proc,
                "a file was being processed",
            )
            proc.send_signal(signum)
            _assert_interrupted(proc, err_path)
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.communicate()
    # Nothing is left leased to the stopped process: finished, or given back.
    assert not [row for row in _ledger(data_dir, database_url) if row[1] == "processing"]

    again = _run(env, *command)
    assert again.returncode == 0, again.stderr[-2000:]
    assert "terminate called" not in again.stderr
    # The file finished before the stop is a duplicate the second time; the rest are done.
    assert {state for _, state, _ in _ledger(data_dir, database_url)} <= {"done", "duplicate"}
    shown = _run(env, "domains", "show", "sig")
    assert "documents    2" in shown.stdout, shown.stdout


def test_interrupted_waiting_command_exits_130(data_dir, database_url, tmp_path):
    env = _env(data_dir, database_url)
    assert _run(env, "domains", "create", "sig").returncode == 0
    err_path = tmp_path / "stderr.txt"
    with err_path.open("w") as err:
        proc = subprocess.Popen(
            [*CLI, "chat", "sig"],
            env=env,
            cwd=data_dir,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=err,
        )
        try:
            _wait_until(lambda: "empty line to quit" in err_path.read_text(), proc, "chat started")
            proc.send_signal(signal.SIGINT)
            _assert_interrupted(proc, err_path)
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.communicate()
