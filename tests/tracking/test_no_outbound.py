"""The offline defaults make no outbound call: not the CLI, not a worker, not the MLflow flush.

Every command runs as a real subprocess with a ``sitecustomize`` audit hook that records
each ``socket.getaddrinfo`` / ``socket.connect`` to a non-loopback address (with the
process's command line). Child processes - the background MLflow flush the commands
start - inherit the hook. MLflow's usage telemetry (on by default in MLflow 3, and
off under CI or pytest, which is why those markers are removed from the environment
here) looked up ``config.mlflow-telemetry.io`` from every process that logged a run or
a trace. A control run with ``MLFLOW_DISABLE_TELEMETRY=false`` shows the hook does see
that call, so the empty record is a real result.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import yaml

AUDIT_HOOK = """
import atexit, ipaddress, json, os, sys

_LOG = os.environ["AUDIT_TEST_DIR"]

def _write(name, record):
    with open(os.path.join(_LOG, name), "a") as f:
        f.write(json.dumps(record) + "\\n")

def _local(host):
    if host is None or host in ("", "localhost"):
        return True
    if isinstance(host, bytes):
        host = host.decode()
    try:
        return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
    except ValueError:
        return str(host).endswith(".localhost")

def _hook(event, args):
    if event == "socket.getaddrinfo":
        host, port = args[0], args[1]
    elif event == "socket.connect":
        address = args[1]
        if not isinstance(address, tuple):  # a Unix socket
            return
        host, port = address[0], address[1]
    else:
        return
    if not _local(host):
        _write("outbound.jsonl", {"event": event, "host": str(host), "port": str(port),
                                  "argv": sys.argv, "pid": os.getpid()})

sys.addaudithook(_hook)
_write("started.jsonl", {"pid": os.getpid(), "argv": sys.argv})
atexit.register(lambda: _write("ended.jsonl", {"pid": os.getpid()}))
"""

# Environment names under which MLflow assumes CI or a test run and turns telemetry off.
_CI_MARKERS = (
    "PYTEST_CURRENT_TEST",
    "PYTEST_XDIST_WORKER",
    "GITHUB_ACTIONS",
    "CI",
    "CIRCLECI",
    "GITLAB_CI",
    "JENKINS_URL",
    "TRAVIS",
    "TF_BUILD",
    "BITBUCKET_BUILD_NUMBER",
    "CODEBUILD_BUILD_ARN",
    "BUILDKITE",
    "TEAMCITY_VERSION",
    "CLOUD_RUN_EXECUTION",
    "RUNBOT_HOST_URL",
    "RUNBOT_BUILD_NAME",
    "RUNBOT_WORKER_ID",
)


def _records(audit: Path, name: str) -> list[dict]:
    path = audit / name
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _wait_for_children(audit: Path, timeout: float = 600.0) -> None:
    """Wait until every audited process (the background flushes too) has ended."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        started = {r["pid"] for r in _records(audit, "started.jsonl")}
        ended = {r["pid"] for r in _records(audit, "ended.jsonl")}
        if started <= ended:
            return
        time.sleep(0.5)
    raise AssertionError(f"audited processes still running: {started - ended}")


def test_cli_worker_ask_and_flush_make_no_outbound_call(data_dir, database_url, tmp_path):
    hook_dir, audit = tmp_path / "hook", tmp_path / "audit"
    hook_dir.mkdir()
    audit.mkdir()
    (hook_dir / "sitecustomize.py").write_text(AUDIT_HOOK)
    zone = tmp_path / "zone"
    (zone / "incoming").mkdir(parents=True)
    (zone / "incoming" / "memo.txt").write_text("The worker reads this memo about budgets.")
    config = tmp_path / "tidyllm.yaml"
    config.write_text(
        yaml.safe_dump({"zones": [{"name": "memos", "source": str(zone), "quiet_period": 0.0}]})
    )
    doc = tmp_path / "policy.txt"
    doc.write_text(
        "Travel policy. Employees book economy class for flights under six hours. "
        "Hotel costs are reimbursed up to 180 dollars per night in large cities."
    )
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in _CI_MARKERS and not k.startswith(("TIDYLLM_", "MLFLOW_", "DATABASE_URL"))
    }
    env.update(
        PYTHONPATH=str(hook_dir),
        AUDIT_TEST_DIR=str(audit),
        TIDYLLM_DATA_DIR=str(data_dir),
        TIDYLLM_CONFIG=str(config),
        DATABASE_URL=database_url,
    )

    def tidyllm(*args: str, **extra: str) -> str:
        result = subprocess.run(
            [sys.executable, "-c", "from tidyllm.cli.main import run; run()", *args],
            env={**env, **extra},
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert result.returncode == 0, (args, result.stdout, result.stderr)
        return result.stdout

    tidyllm("domains", "create", "policies")
    assert "1 done" in tidyllm("ingest", "policies", str(doc))
    assert "done 1" in tidyllm("worker", "--once", "--zone", "memos")
    assert "180" in tidyllm("ask", "policies", "How much is a hotel night reimbursed?")
    tidyllm("tracking", "flush")  # sends whatever the background flush has not sent yet
    _wait_for_children(audit)
    assert "0 run(s), 0 trace(s)" in tidyllm("tracking", "status").replace(" and ", ", ")
    argvs = [r["argv"] for r in _records(audit, "started.jsonl")]
    assert any("ask" in a for a in argvs) and any("worker" in a for a in argvs)
    assert _records(audit, "outbound.jsonl") == []

    # Control: with telemetry switched back on, the same hook sees MLflow call out.
    off = {"TIDYLLM_MLFLOW__BACKGROUND_FLUSH": "false"}
    tidyllm("ask", "policies", "Which class do employees book?", **off)
    tidyllm("tracking", "flush", MLFLOW_DISABLE_TELEMETRY="false", **off)
    _wait_for_children(audit)
    hosts = {r["host"] for r in _records(audit, "outbound.jsonl")}
    assert any("mlflow" in host for host in hosts), hosts
