"""The offline defaults make no outbound call: not the CLI, not a worker, not the MLflow flush.

Every command runs as a real subprocess with a ``sitecustomize`` audit hook
(``tests/outbound_audit.py``) that records each ``socket.getaddrinfo`` /
``socket.connect`` to a non-loopback address (with the process's command line). Child
processes - the background MLflow flush the commands start - inherit the hook.
MLflow's usage telemetry (on by default in MLflow 3, and off under CI or pytest, which
is why those markers are removed from the environment here) looked up
``config.mlflow-telemetry.io`` from every process that logged a run or a trace. A
control run with ``MLFLOW_DISABLE_TELEMETRY=false`` shows the hook does see that call,
so the empty record is a real result.
"""

from __future__ import annotations

import subprocess
import sys

import yaml

from outbound_audit import audited_env, records, wait_for_children


def test_cli_worker_ask_and_flush_make_no_outbound_call(data_dir, database_url, tmp_path):
    env, audit = audited_env(tmp_path)
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
    env.update(
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
    wait_for_children(audit)
    assert "0 run(s), 0 trace(s)" in tidyllm("tracking", "status").replace(" and ", ", ")
    argvs = [r["argv"] for r in records(audit, "started.jsonl")]
    assert any("ask" in a for a in argvs) and any("worker" in a for a in argvs)
    assert records(audit, "outbound.jsonl") == []

    # Control: with telemetry switched back on, the same hook sees MLflow call out.
    off = {"TIDYLLM_MLFLOW__BACKGROUND_FLUSH": "false"}
    tidyllm("ask", "policies", "Which class do employees book?", **off)
    tidyllm("tracking", "flush", MLFLOW_DISABLE_TELEMETRY="false", **off)
    wait_for_children(audit)
    hosts = {r["host"] for r in records(audit, "outbound.jsonl")}
    assert any("mlflow" in host for host in hosts), hosts
