"""Logging complete runs to a real MLflow server and to the embedded local sqlite store."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient
from tracking_helpers import client_factory, files_containing, read_back, sqlite_uri

from services import MlflowServer
from tidyllm.errors import ServiceUnavailable, TrackingError
from tidyllm.tracking import FAIL_FAST_ENV, RUN_KEY_TAG, Tracker


def _log_sample(tracker: Tracker, tmp_path: Path, secret: str):
    report = tmp_path / "report.json"
    report.write_text(f'{{"files": 3, "dsn": "postgresql://app:{secret}@db/x"}}')
    return tracker.log_run(
        run_name="batch-1",
        params={"zone": "invoices", "workers": 4, "token": secret},
        metrics={"files": 3, "p50_ms": 12.5, "p95_ms": 80.0},
        tags={"pipeline": "default", "note": f"auth {secret}"},
        artifacts={
            "report.json": report,
            "logs/summary.txt": f"ok {secret}",
            "raw.bin": b"\x00\x01",
        },
    )


def _assert_sample(uri: str, run_id: str, tmp_path: Path, secret: str) -> None:
    run, files = read_back(uri, run_id, tmp_path / "readback")
    assert run.info.status == "FINISHED"
    assert run.info.run_name == "batch-1"
    assert run.data.params == {"zone": "invoices", "workers": "4", "token": "***"}
    assert run.data.metrics == {"files": 3.0, "p50_ms": 12.5, "p95_ms": 80.0}
    assert run.data.tags["pipeline"] == "default"
    assert run.data.tags["note"] == "auth ***"
    assert RUN_KEY_TAG in run.data.tags
    assert files == {
        "report.json": b'{"files": 3, "dsn": "postgresql://app:***@db/x"}',
        "logs/summary.txt": b"ok ***",
        "raw.bin": b"\x00\x01",
    }
    assert secret not in repr(run)


def test_run_logged_to_server_reads_back_whole(
    mlflow_server: MlflowServer, tmp_path: Path, experiment: str, canary: str
) -> None:
    tracker = Tracker(client_factory(mlflow_server.url), experiment, tmp_path / "buffer")
    record = _log_sample(tracker, tmp_path, canary)
    assert not record.buffered and record.buffer_id is None and record.run_id
    _assert_sample(mlflow_server.url, record.run_id, tmp_path, canary)
    assert not files_containing(mlflow_server.workdir, canary)
    assert tracker.pending() == 0


def test_run_logged_to_local_sqlite_store_keeps_artifacts_under_data_dir(
    sqlite_data_dir: Path, tmp_path: Path, experiment: str, canary: str
) -> None:
    uri = sqlite_uri(sqlite_data_dir)
    tracker = Tracker(client_factory(uri), experiment, sqlite_data_dir / "buffer")
    record = _log_sample(tracker, tmp_path, canary)
    assert not record.buffered
    _assert_sample(uri, record.run_id, tmp_path, canary)
    run = MlflowClient(tracking_uri=uri).get_run(record.run_id)
    artifact_root = (sqlite_data_dir / "mlflow" / "artifacts").resolve()
    assert run.info.artifact_uri.startswith(artifact_root.as_uri() + "/")
    assert any(artifact_root.rglob("summary.txt"))
    assert not files_containing(sqlite_data_dir, canary)


def test_explicit_artifact_root_is_used_for_new_experiments(
    sqlite_data_dir: Path, tmp_path: Path, experiment: str
) -> None:
    root = tmp_path / "elsewhere"
    uri = sqlite_uri(sqlite_data_dir)
    tracker = Tracker(client_factory(uri), experiment, tmp_path / "b", artifact_root=root)
    exp = MlflowClient(tracking_uri=uri).get_experiment(tracker.experiment_id())
    assert exp.artifact_location.startswith(root.resolve().as_uri() + "/")


def test_many_params_and_metrics_are_sent_in_batches(
    mlflow_server: MlflowServer, tmp_path: Path, experiment: str
) -> None:
    tracker = Tracker(client_factory(mlflow_server.url), experiment, tmp_path / "buffer")
    params = {f"p{i}": i for i in range(250)}
    tags = {f"t{i}": str(i) for i in range(150)}
    metrics = {f"m{i}": float(i) for i in range(1100)}
    record = tracker.log_run(params=params, metrics=metrics, tags=tags)
    run = MlflowClient(tracking_uri=mlflow_server.url).get_run(record.run_id)
    assert run.data.params == {k: str(v) for k, v in params.items()}
    assert run.data.metrics == metrics
    assert all(run.data.tags[k] == v for k, v in tags.items())


def test_experiment_id_is_created_once_and_cached(
    mlflow_server: MlflowServer, tmp_path: Path, experiment: str
) -> None:
    calls = []

    def factory() -> MlflowClient:
        calls.append(1)
        return MlflowClient(tracking_uri=mlflow_server.url)

    tracker = Tracker(factory, experiment, tmp_path / "buffer")
    first = tracker.experiment_id()
    assert tracker.experiment_id() == first
    other = Tracker(client_factory(mlflow_server.url), experiment, tmp_path / "buffer")
    assert other.experiment_id() == first  # get, not a second create
    assert calls == [1]
    assert MlflowClient(tracking_uri=mlflow_server.url).get_experiment(first).name == experiment


def test_deleted_experiment_gives_a_clear_error(
    mlflow_server: MlflowServer, tmp_path: Path, experiment: str
) -> None:
    client = MlflowClient(tracking_uri=mlflow_server.url)
    client.delete_experiment(client.create_experiment(experiment))
    tracker = Tracker(client_factory(mlflow_server.url), experiment, tmp_path / "buffer")
    with pytest.raises(TrackingError, match="is deleted"):
        tracker.log_run(params={"a": 1})
    assert tracker.pending() == 0


def test_probe_reports_health(mlflow_server: MlflowServer, tmp_path: Path, dead_url: str) -> None:
    up = Tracker(client_factory(mlflow_server.url), "probe", tmp_path / "buffer")
    assert up.probe().startswith("reachable")
    down = Tracker(client_factory(dead_url), "probe", tmp_path / "buffer")
    with pytest.raises(ServiceUnavailable) as info:
        down.probe()
    assert info.value.service == "mlflow"
    assert "mlflow is unavailable" in str(info.value)


def test_tracker_makes_mlflow_fail_fast_without_overriding_the_factory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in FAIL_FAST_ENV:
        monkeypatch.delenv(name, raising=False)

    def factory() -> MlflowClient:  # as the session manager does: its settings come first
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "7")
        return MlflowClient(tracking_uri="http://127.0.0.1:9")

    tracker = Tracker(factory, "env", tmp_path / "buffer")
    with pytest.raises(ServiceUnavailable):
        tracker.probe()
    assert os.environ["MLFLOW_HTTP_REQUEST_TIMEOUT"] == "7"
    assert (
        os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"]
        == FAIL_FAST_ENV["MLFLOW_HTTP_REQUEST_MAX_RETRIES"]
    )
