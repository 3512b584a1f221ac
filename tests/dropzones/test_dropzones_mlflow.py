"""One MLflow run per worker batch per zone: params, metrics and the batch report.

A batch's run goes to the tracking outbox (no MLflow call on the worker's path) and
reaches MLflow with the next flush, tagged with its run key; the flush then writes
the MLflow run id into the files' ledger rows.
"""

from __future__ import annotations

import json

from dropzone_helpers import open_dz, rows, zone_conf

from tidyllm.tracking.shipping import flush


def test_batch_run_is_logged_with_metrics_and_report(
    data_dir, database_url, mlflow_server, tmp_path
):
    roots = {name: tmp_path / name for name in ("a", "b")}
    for name, root in roots.items():
        (root / "incoming").mkdir(parents=True)
        for i in range(3):
            (root / "incoming" / f"{name}{i}.txt").write_text(f"text {name} {i}")
    (roots["a"] / "incoming" / "empty.txt").write_bytes(b"")
    zones = [zone_conf(n, str(r), pipeline="extract") for n, r in roots.items()]
    mlflow = {"tracking_uri": mlflow_server.url, "background_flush": False}
    with open_dz(data_dir, database_url, zones, mlflow=mlflow) as dz:
        summary = dz.drain(track=True)
        assert len(summary.mlflow_runs) == 2  # one batch per zone, buffered under its run key
        assert dz.sm.outbox().pending() == {"runs": 2, "traces": 0}
        assert {r["mlflow_run_id"] for r in rows(dz)} == {None}  # nothing sent yet
        report = flush(dz.sm)
        assert (report.runs, report.failures, report.pending) == (2, [], {"runs": 0, "traces": 0})
        client = dz.sm.mlflow()
        exp = client.get_experiment_by_name("tidyllm")
        found = [
            run
            for key in summary.mlflow_runs
            for run in client.search_runs(
                [exp.experiment_id], filter_string=f"tags.`tidyllm.run_key` = '{key}'"
            )
        ]
        by_key = {r.data.tags["tidyllm.run_key"]: r for r in found}
        assert set(by_key) == set(summary.mlflow_runs)
        runs = {r.data.params["zone"]: r for r in found}
        ledger = rows(dz)
        report_path = client.download_artifacts(
            runs["a"].info.run_id, "batch_report.json", str(tmp_path)
        )
    a = runs["a"].data
    assert a.params["pipeline"] == "extract"
    assert a.params["pipeline_version"] == "extract@1+report@1"
    assert a.metrics["files_done"] == 3 and a.metrics["files_failed"] == 1
    assert a.metrics["pages"] == 3
    assert a.metrics["latency_p95_s"] >= a.metrics["latency_p50_s"] > 0
    assert runs["b"].data.metrics["files_done"] == 3
    for row in ledger:
        assert row["mlflow_run_id"] == runs[row["zone"]].info.run_id
    with open(report_path) as f:
        report = json.load(f)
    assert {f["state"] for f in report["files"]} == {"done", "failed"}
