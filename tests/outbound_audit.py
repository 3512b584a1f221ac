"""A ``sitecustomize`` audit hook that records every non-loopback network call.

Used by the no-outbound tests (``tests/tracking/test_no_outbound.py``,
``tests/server/test_serve_offline.py``): a subprocess started with :func:`audited_env`
loads the hook at start-up and records each ``socket.getaddrinfo`` / ``socket.connect``
to a non-loopback address (with the process's command line) in ``outbound.jsonl``, and
its own start and end in ``started.jsonl`` / ``ended.jsonl``. Child processes inherit the
environment and so the hook (``multiprocessing`` spawn children and detached flushes too).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

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
CI_MARKERS = (
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


def records(audit: Path, name: str) -> list[dict]:
    path = audit / name
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def running(pid: int) -> bool:
    """Whether ``pid`` is a live process (not gone, not a zombie); Linux ``/proc``."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def wait_for_children(audit: Path, timeout: float = 600.0) -> None:
    """Wait until every audited process (the background flushes too) has ended.

    Ended: its exit record written, or the process gone. uvicorn's ``--workers``
    processes end by re-raising the SIGTERM they were stopped with once their shutdown
    is complete, so their ``atexit`` (and the exit record) never runs.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        started = {r["pid"] for r in records(audit, "started.jsonl")}
        ended = {r["pid"] for r in records(audit, "ended.jsonl")}
        left = {pid for pid in started - ended if running(pid)}
        if not left:
            return
        time.sleep(0.5)
    raise AssertionError(f"audited processes still running: {left}")


def audited_env(tmp: Path) -> tuple[dict[str, str], Path]:
    """The test's environment without CI markers and project settings, plus the hook.

    MLflow turns its telemetry off under CI or pytest: the markers are removed so the
    processes behave as on a user's machine. Returns the environment and the directory
    the records are written to.
    """
    hook_dir, audit = tmp / "hook", tmp / "audit"
    hook_dir.mkdir()
    audit.mkdir()
    (hook_dir / "sitecustomize.py").write_text(AUDIT_HOOK)
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in CI_MARKERS and not k.startswith(("TIDYLLM_", "MLFLOW_", "DATABASE_URL"))
    }
    env.update(PYTHONPATH=str(hook_dir), AUDIT_TEST_DIR=str(audit))
    return env, audit
