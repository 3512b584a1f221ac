"""A SIGTERMed `tidyllm worker` closes its batch into the tracking outbox, never into MLflow.

Closing a batch used to import MLflow and open its store on the way out (7.8-8.8 s to
exit, 3.4 s of it importing). Now the batch's run is written to the disk buffer and the
process exits; the run waits there for the next flush. The test asserts the outcome:
the worker exited by itself after SIGTERM, its batch run is buffered with every file it
finished, and the process never imported MLflow.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import yaml
from dropzone_helpers import open_dz, rows, wait_for, zone_conf

from services import CLI_WITH_MLFLOW_MARKER


def test_sigterm_exit_buffers_the_batch_and_never_imports_mlflow(
    data_dir, database_url, tmp_path
) -> None:
    root = tmp_path / "zone"
    (root / "incoming").mkdir(parents=True)
    for i in range(3):
        (root / "incoming" / f"note{i}.txt").write_text(f"note {i}")
    zones = [zone_conf("notes", str(root), pipeline="extract")]
    config = tmp_path / "tidyllm.yaml"
    config.write_text(yaml.safe_dump({"zones": zones}))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TIDYLLM_", "DATABASE_URL"))}
    env.update(
        TIDYLLM_DATA_DIR=str(data_dir),
        DATABASE_URL=database_url,
        TIDYLLM_CONFIG=str(config),
        # keep the buffered run where the test can see it (no background flush process)
        TIDYLLM_MLFLOW__BACKGROUND_FLUSH="false",
    )
    marker = tmp_path / "mlflow-modules.json"
    proc = subprocess.Popen(
        [sys.executable, "-c", CLI_WITH_MLFLOW_MARKER, str(marker), "worker"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        with open_dz(data_dir, database_url, zones) as dz:
            wait_for(lambda: len([r for r in rows(dz) if r["state"] == "done"]) == 3, timeout=300)
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=300)  # a bound for a hung worker, not a speed test
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, output
    assert "worker finished: done 3" in output
    assert json.loads(marker.read_text()) == []  # MLflow was never imported

    pending = data_dir / "tracking-buffer" / "pending"
    runs = sorted(pending.iterdir())
    assert len(runs) == 1, output  # the batch closed by the SIGTERM, left for replay
    run = json.loads((runs[0] / "run.json").read_text())
    assert run["params"]["zone"] == "notes" and run["metrics"]["files_done"] == 3.0
    report = json.loads((runs[0] / "artifacts" / "batch_report.json").read_text())
    with open_dz(data_dir, database_url, zones) as dz:
        assert {f["id"] for f in report["files"]} == {r["id"] for r in rows(dz)}
