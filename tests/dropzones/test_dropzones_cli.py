"""The CLI surface: zones list/status/history/retry, drop, worker; SIGTERM and SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import yaml
from dropzone_helpers import SLOW_WORKER, open_dz, rows, tree, wait_for, zone_conf


def _env(data_dir, database_url, config, **extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TIDYLLM_", "DATABASE_URL"))}
    env.update(
        TIDYLLM_DATA_DIR=str(data_dir),
        DATABASE_URL=database_url,
        TIDYLLM_CONFIG=str(config),
        **extra,
    )
    return env


def _config(tmp_path, zones):
    path = tmp_path / "tidyllm.yaml"
    path.write_text(yaml.safe_dump({"zones": zones}))
    return path


def test_cli_drop_worker_status_history_retry(cli, data_dir, database_url, tmp_path, monkeypatch):
    root = tmp_path / "zone"
    zones = [
        zone_conf("docs", str(root), pipeline="extract"),
        zone_conf("off", str(tmp_path / "o"), enabled=False),
    ]
    monkeypatch.setenv("TIDYLLM_CONFIG", str(_config(tmp_path, zones)))
    monkeypatch.setenv("TIDYLLM_DATA_DIR", str(data_dir))
    monkeypatch.setenv("DATABASE_URL", database_url)
    good, bad = tmp_path / "good.txt", tmp_path / "bad.pdf"
    good.write_text("hello zones")
    bad.write_bytes(b"not a pdf at all, just text pretending")

    listed = cli("zones", "list")
    assert listed.exit_code == 0 and "docs" in listed.output and "off" in listed.output
    dropped = cli("drop", str(good), str(bad), "--zone", "docs")
    assert dropped.exit_code == 0, dropped.output
    assert dropped.output.count("dropped") == 2
    ran = cli("worker", "--once", "--no-track")
    assert ran.exit_code == 0, ran.output
    assert "done 1" in ran.output and "failed 1" in ran.output
    status = cli("zones", "status", "docs")
    assert "done 1" in status.output and "failed 1" in status.output
    history = cli("zones", "history", "bad.pdf")
    assert "detected" in history.output and "failed" in history.output
    assert "mislabelled" in history.output or "corrupt" in history.output

    unknown = cli("zones", "status", "nope")
    assert unknown.exit_code == 1 and "unknown zone" in unknown.output
    refused = cli("drop", str(good), "--zone", "off")
    assert refused.exit_code == 1 and "disabled" in refused.output
    missing = cli("drop", str(tmp_path / "missing.txt"), "--zone", "docs")
    assert missing.exit_code == 1 and "cannot read" in missing.output

    retried = cli("zones", "retry", "--failed")
    assert retried.exit_code == 0 and "1 file(s) queued again" in retried.output
    assert tree(root)["incoming"] == ["bad.pdf"]
    again = cli("worker", "--once", "--no-track")
    assert "failed 1" in again.output
    with open_dz(data_dir, database_url, zones) as dz:
        ledger = rows(dz)
    assert [r["location"] for r in ledger if r["key"] == "bad.pdf"] == ["gone", "failed"]


def test_sigkilled_worker_loses_nothing_and_sigterm_finishes_the_file(
    data_dir, database_url, tmp_path
):
    root = tmp_path / "zone"
    (root / "incoming").mkdir(parents=True)
    (root / "incoming" / "held.txt").write_text("held by a slow step")
    zones = [zone_conf("docs", str(root), pipeline="slow,archive")]
    env = _env(data_dir, database_url, _config(tmp_path, zones), SLOW_STEP_SECONDS="60")
    args = [sys.executable, "-c", SLOW_WORKER, "worker", "--no-track", "--lease-seconds", "2"]
    with open_dz(data_dir, database_url, zones) as dz:
        victim = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            wait_for(lambda: [r for r in rows(dz) if r["state"] == "processing"], timeout=60)
        except AssertionError:
            victim.kill()
            raise AssertionError(victim.communicate()[1].decode()[-3000:]) from None
        finally:
            victim.send_signal(signal.SIGKILL)
            victim.communicate(timeout=10)
        # a fresh worker takes the file over once the dead one's lease expires
        env["SLOW_STEP_SECONDS"] = "0"
        rescue = subprocess.run([*args, "--once"], env=env, capture_output=True, timeout=120)
        assert rescue.returncode == 0, rescue.stderr.decode()[-2000:]
        (row,) = rows(dz)
        assert (row["state"], row["attempts"]) == ("done", 2)
        workers = {
            e["worker"] for e in dz.history(row["id"])[0]["events"] if e["kind"] == "claimed"
        }
        assert len(workers) == 2

        (root / "incoming" / "second.txt").write_text("finished on SIGTERM")
        env["SLOW_STEP_SECONDS"] = "2"
        polite = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        wait_for(lambda: [r for r in rows(dz) if r["state"] == "processing"], timeout=60)
        polite.send_signal(signal.SIGTERM)
        _, err = polite.communicate(timeout=60)
        assert polite.returncode == 0, err.decode()[-2000:]
        states = {r["key"]: r["state"] for r in rows(dz)}
    assert states == {"held.txt": "done", "second.txt": "done"}
    assert tree(root)["incoming"] == []
