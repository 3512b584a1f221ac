"""Outages: runs are buffered while MLflow is down and replayed, once each, when it is back.

One private ``MlflowServer`` is stopped and started for the outage cycle (stopping the
shared one would disturb other tests). The other cases cause a real outage more cheaply:
a tracker pointed at a port where nothing listens writes to the same buffer, and a
tracker pointed at the live server replays it.
"""

from __future__ import annotations

import json
import logging
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from mlflow.entities import ViewType
from mlflow.tracking import MlflowClient
from tracking_helpers import client_factory, files_containing, read_back, sqlite_uri

from services import MlflowServer
from tidyllm.errors import ReplayError, ServiceUnavailable, TrackingError
from tidyllm.tracking import RUN_KEY_TAG, Tracker


@pytest.fixture(scope="module")
def own_server() -> Iterator[MlflowServer]:
    """A private MLflow server this module may stop and start."""
    with tempfile.TemporaryDirectory(prefix="tidyllm-test-mlflow-outage-") as root:
        server = MlflowServer(Path(root) / "mlflow")
        server.start()
        yield server
        server.stop()


def _runs(url: str, experiment: str) -> list:
    client = MlflowClient(tracking_uri=url)
    exp = client.get_experiment_by_name(experiment)
    if exp is None:
        return []
    return client.search_runs([exp.experiment_id], run_view_type=ViewType.ACTIVE_ONLY)


def _buffer_runs(dead_url: str, experiment: str, buffer: Path, count: int) -> list[str]:
    """Log ``count`` runs while MLflow is unreachable; return their buffer ids."""
    down = Tracker(client_factory(dead_url), experiment, buffer)
    ids = []
    for i in range(count):
        record = down.log_run(run_name=f"r{i}", params={"i": i}, metrics={"i": i})
        assert record.buffered
        ids.append(record.buffer_id)
    return ids


def test_outage_buffers_then_replay_sends_each_run_once(
    own_server: MlflowServer,
    tmp_path: Path,
    experiment: str,
    canary: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    buffer = tmp_path / "buffer"
    tracker = Tracker(client_factory(own_server.url), experiment, buffer)
    tracker.experiment_id()  # the experiment exists before the outage
    own_server.stop()
    try:
        record = tracker.log_run(
            run_name=f"during outage {canary}",
            params={"zone": "z", "token": canary},
            metrics={"p50": 1.5, "p95": 9.0},
            tags={"note": f"secret {canary}"},
            artifacts={"report.txt": f"report with {canary}", "bin/x.bin": b"\x00\xff"},
        )
        assert record.buffered and record.run_id is None and record.buffer_id
        assert tracker.pending() == 1
        assert tracker.replay() == 0  # still down: nothing sent, nothing lost
        assert tracker.pending() == 1
        with pytest.raises(ServiceUnavailable):
            tracker.probe()
        assert not files_containing(buffer, canary)
        assert files_containing(buffer, "report with ***")
    finally:
        own_server.start()

    assert tracker.replay() == 1
    assert tracker.pending() == 0
    assert tracker.replay() == 0
    runs = _runs(own_server.url, experiment)
    assert len(runs) == 1
    run, files = read_back(own_server.url, runs[0].info.run_id, tmp_path / "readback")
    assert run.info.status == "FINISHED"
    assert run.info.run_name == "during outage ***"
    assert run.data.params == {"zone": "z", "token": "***"}
    assert run.data.metrics == {"p50": 1.5, "p95": 9.0}
    assert run.data.tags["note"] == "secret ***"
    assert run.data.tags[RUN_KEY_TAG] == record.buffer_id
    assert run.data.tags["tidyllm.replayed"] == "true"
    assert files == {"report.txt": b"report with ***", "bin/x.bin": b"\x00\xff"}
    assert not files_containing(own_server.workdir, canary)
    assert "buffered run" in caplog.text  # the outage was reported...
    assert canary not in caplog.text  # ...without the secret


def test_next_successful_log_run_replays_older_runs_first(
    mlflow_server: MlflowServer, tmp_path: Path, dead_url: str, experiment: str
) -> None:
    buffer = tmp_path / "buffer"
    ids = _buffer_runs(dead_url, experiment, buffer, 3)
    tracker = Tracker(client_factory(mlflow_server.url), experiment, buffer)
    record = tracker.log_run(run_name="fresh", params={"i": 99})
    assert not record.buffered
    assert tracker.pending() == 0
    runs = _runs(mlflow_server.url, experiment)
    assert sorted(r.info.run_name for r in runs) == ["fresh", "r0", "r1", "r2"]
    replayed = sorted(runs, key=lambda r: r.info.start_time)
    assert [r.data.tags.get(RUN_KEY_TAG) for r in replayed[:3]] == ids


def test_log_run_during_outage_with_a_backlog_buffers_without_raising(
    tmp_path: Path, dead_url: str, experiment: str
) -> None:
    buffer = tmp_path / "buffer"
    _buffer_runs(dead_url, experiment, buffer, 2)
    tracker = Tracker(client_factory(dead_url), experiment, buffer)
    assert tracker.log_run(params={"x": 1}).buffered
    assert tracker.pending() == 3


def test_corrupt_buffer_file_is_moved_aside_and_others_still_replayed(
    mlflow_server: MlflowServer, tmp_path: Path, dead_url: str, experiment: str
) -> None:
    buffer = tmp_path / "buffer"
    ids = _buffer_runs(dead_url, experiment, buffer, 3)
    bad = buffer / "pending" / ids[1] / "run.json"
    truncated = bad.read_bytes()[:25]  # as left by a disk fault
    bad.write_bytes(truncated)

    tracker = Tracker(client_factory(mlflow_server.url), experiment, buffer)
    with pytest.raises(ReplayError) as info:
        tracker.replay()
    assert str(bad) in str(info.value)
    assert info.value.sent == 2
    assert tracker.pending() == 0
    moved = buffer / "failed" / ids[1]
    assert (moved / "run.json").read_bytes() == truncated
    assert "not readable JSON" in (moved / "reason.txt").read_text()
    assert tracker.failed_runs() == [moved]
    assert sorted(r.info.run_name for r in _runs(mlflow_server.url, experiment)) == ["r0", "r2"]
    assert tracker.replay() == 0  # reported once; the moved file stays for inspection


@pytest.mark.parametrize(
    "damage",
    ["wrong_format", "key_mismatch", "missing_artifact", "artifact_escape", "bad_metric", "stray"],
)
def test_hostile_buffer_entries_are_moved_aside(
    mlflow_server: MlflowServer, tmp_path: Path, dead_url: str, experiment: str, damage: str
) -> None:
    buffer = tmp_path / "buffer"
    down = Tracker(client_factory(dead_url), experiment, buffer)
    key = down.log_run(params={"a": 1}, artifacts={"a.txt": "hello"}).buffer_id
    good = down.log_run(params={"b": 2}).buffer_id
    entry = buffer / "pending" / key
    doc = json.loads((entry / "run.json").read_text())
    if damage == "wrong_format":
        doc = ["not", "a", "run"]
    elif damage == "key_mismatch":
        doc["run_key"] = good
    elif damage == "missing_artifact":
        (entry / "artifacts" / "a.txt").unlink()
    elif damage == "artifact_escape":
        doc["artifacts"] = ["../../../../etc/hostname"]
    elif damage == "bad_metric":
        doc["metrics"] = {"m": "NaN-ish"}
    if damage == "stray":
        (buffer / "pending" / "zz-stray-file.txt").write_text("not a run")
    else:
        (entry / "run.json").write_text(json.dumps(doc))

    tracker = Tracker(client_factory(mlflow_server.url), experiment, buffer)
    with pytest.raises(ReplayError, match="could not be replayed"):
        tracker.replay()
    assert tracker.pending() == 0
    (moved,) = tracker.failed_runs()
    assert (moved.name == "zz-stray-file.txt") == (damage == "stray")
    sent = sorted(str(r.data.params) for r in _runs(mlflow_server.url, experiment))
    assert sent == (["{'a': '1'}", "{'b': '2'}"] if damage == "stray" else ["{'b': '2'}"])


def test_half_logged_run_from_an_interrupted_attempt_is_replaced(
    mlflow_server: MlflowServer, tmp_path: Path, dead_url: str, experiment: str
) -> None:
    buffer = tmp_path / "buffer"
    (key,) = _buffer_runs(dead_url, experiment, buffer, 1)
    tracker = Tracker(client_factory(mlflow_server.url), experiment, buffer)
    # The state a cut-off attempt leaves: a RUNNING run with the key and part of the data.
    client = MlflowClient(tracking_uri=mlflow_server.url)
    partial = client.create_run(tracker.experiment_id(), tags={RUN_KEY_TAG: key})
    assert tracker.replay() == 1
    runs = _runs(mlflow_server.url, experiment)
    assert len(runs) == 1 and runs[0].info.run_id != partial.info.run_id
    assert runs[0].info.status == "FINISHED" and runs[0].data.params == {"i": "0"}


def test_run_already_finished_before_a_crash_is_not_sent_twice(
    mlflow_server: MlflowServer, tmp_path: Path, dead_url: str, experiment: str
) -> None:
    buffer = tmp_path / "buffer"
    (key,) = _buffer_runs(dead_url, experiment, buffer, 1)
    tracker = Tracker(client_factory(mlflow_server.url), experiment, buffer)
    # The state a crash between "FINISHED" and deleting the buffer entry leaves.
    client = MlflowClient(tracking_uri=mlflow_server.url)
    done = client.create_run(tracker.experiment_id(), tags={RUN_KEY_TAG: key})
    client.set_terminated(done.info.run_id, "FINISHED")
    assert tracker.replay() == 1
    assert tracker.pending() == 0
    assert [r.info.run_id for r in _runs(mlflow_server.url, experiment)] == [done.info.run_id]


_REPLAY_SCRIPT = """
import sys
from pathlib import Path
from mlflow.tracking import MlflowClient
from tidyllm.tracking import Tracker
url, experiment, buffer = sys.argv[1:4]
tracker = Tracker(lambda: MlflowClient(tracking_uri=url), experiment, Path(buffer))
print(tracker.replay())
"""


def test_two_processes_replaying_at_once_send_each_run_once(
    mlflow_server: MlflowServer, tmp_path: Path, dead_url: str, experiment: str
) -> None:
    buffer = tmp_path / "buffer"
    ids = _buffer_runs(dead_url, experiment, buffer, 6)
    args = [sys.executable, "-c", _REPLAY_SCRIPT, mlflow_server.url, experiment, str(buffer)]
    procs = [
        subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)
    ]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [err[-2000:] for _, err in outputs]
    assert sum(int(out.split()[-1]) for out, _ in outputs) == 6
    runs = _runs(mlflow_server.url, experiment)
    assert sorted(r.data.tags[RUN_KEY_TAG] for r in runs) == sorted(ids)
    assert Tracker(client_factory(mlflow_server.url), experiment, buffer).pending() == 0


def test_unwritable_buffer_gives_a_clear_error(tmp_path: Path, dead_url: str) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the buffer folder should be")
    tracker = Tracker(client_factory(dead_url), "exp", blocker)
    with pytest.raises(TrackingError, match="could not be buffered"):
        tracker.log_run(params={"a": 1})
    with pytest.raises(TrackingError, match="cannot read the tracking buffer"):
        tracker.pending()


def test_server_that_accepts_but_never_answers_counts_as_an_outage(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A real hung server: the kernel accepts the connection, nobody ever answers.
    # MLflow reads its timeout from the environment on every request; 1 s keeps the test short.
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "1")
    with socket.socket() as hung:
        hung.bind(("127.0.0.1", 0))
        hung.listen(16)
        url = f"http://127.0.0.1:{hung.getsockname()[1]}"
        tracker = Tracker(client_factory(url), "exp", tmp_path / "buffer")
        record = tracker.log_run(params={"a": 1})
    assert record.buffered
    assert tracker.pending() == 1


def test_runs_buffered_for_the_local_store_replay_into_it(
    sqlite_data_dir: Path, tmp_path: Path, dead_url: str, experiment: str
) -> None:
    buffer = tmp_path / "buffer"
    ids = _buffer_runs(dead_url, experiment, buffer, 2)
    uri = sqlite_uri(sqlite_data_dir)
    tracker = Tracker(client_factory(uri), experiment, buffer)
    assert tracker.replay() == 2
    assert tracker.replay() == 0
    runs = _runs(uri, experiment)
    assert sorted(r.data.tags[RUN_KEY_TAG] for r in runs) == ids
    assert all(r.info.status == "FINISHED" for r in runs)
