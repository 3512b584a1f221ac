"""The tracking outbox: runs and traces buffered without MLflow, sent by a flush.

The end-to-end cases (a real `ask` trace and real batch runs landing in a real
MLflow server) are in tests/knowledge/test_knowledge_fed.py and
tests/dropzones/test_dropzones_mlflow.py; these cover the outbox's own promises.
"""

from __future__ import annotations

import json
import time

from tracking_helpers import files_containing

from tidyllm.session import UnifiedSessionManager
from tidyllm.tracking.outbox import OUTAGE_FILE
from tidyllm.tracking.shipping import flush


def _trace(question: str) -> dict:
    now = time.time_ns()
    return {
        "name": "ask",
        "start_ns": now - 3_000_000,
        "end_ns": now,
        "inputs": {"question": question, "domain": "d"},
        "attributes": {"provider": "extractive"},
        "tags": {"tidyllm.domain": "d"},
        "spans": [
            {
                "name": "retrieve",
                "start_ns": now - 2_000_000,
                "end_ns": now - 1_000_000,
                "inputs": {"query": question},
                "outputs": {"hits": []},
                "status": "OK",
                "attributes": {"seconds": 0.001},
            }
        ],
        "outputs": {"answer": "Not found in the documents.", "found": False},
        "end_attributes": {"timings": {"retrieve": 0.001}},
    }


def test_a_buffered_trace_is_redacted_on_disk(data_dir, canary) -> None:
    with UnifiedSessionManager(data_dir=data_dir, mlflow={"background_flush": False}) as sm:
        key = sm.outbox().defer_trace(_trace(f"what is {canary}?"))
        assert sm.outbox().pending() == {"runs": 0, "traces": 1}
        doc = sm.outbox().traces.read_trace(key)
    assert doc["trace_key"] == key and doc["experiment"] == "tidyllm"
    assert canary not in json.dumps(doc)
    assert files_containing(data_dir, canary) == []


def test_mlflow_down_keeps_everything_buffered_and_pauses_background_flushes(
    data_dir, dead_url
) -> None:
    settings = {"tracking_uri": dead_url, "request_retries": 0}
    with UnifiedSessionManager(data_dir=data_dir, mlflow=settings) as sm:
        outbox = sm.outbox()
        outbox.background = False
        outbox.defer_run(run_name="r", params={"a": 1}, metrics={"m": 1.0})
        outbox.defer_trace(_trace("a question"))
        report = flush(sm)
        assert report.outage and report.runs == 0 and report.traces == 0
        assert report.pending == {"runs": 1, "traces": 1}
        assert (outbox.root / OUTAGE_FILE).exists()
        outbox.background = True
        assert outbox.flush_in_background() is False  # paused after the outage


def test_the_background_flush_process_sends_runs_and_traces(
    data_dir, mlflow_server, experiment
) -> None:
    settings = {
        "tracking_uri": mlflow_server.url,
        "experiment": experiment,
        "background_flush": True,
    }
    with UnifiedSessionManager(data_dir=data_dir, mlflow=settings) as sm:
        outbox = sm.outbox()
        run_key = outbox.defer_run(run_name="bg", params={"zone": "z"}, metrics={"files": 2.0})
        trace_key = outbox.defer_trace(_trace("sent in the background?"))
        deadline = time.monotonic() + 300  # a bound for a stuck process, not a speed target
        while any(outbox.pending().values()) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert outbox.pending() == {"runs": 0, "traces": 0}, (outbox.root / "ship.log").read_text()
        client = sm.mlflow()
        exp_id = client.get_experiment_by_name(experiment).experiment_id
        runs = client.search_runs([exp_id], filter_string=f"tags.`tidyllm.run_key` = '{run_key}'")
        assert len(runs) == 1 and runs[0].data.metrics["files"] == 2.0
        traces = client.search_traces(
            locations=[exp_id], filter_string=f"tag.`tidyllm.trace_key` = '{trace_key}'"
        )
        assert len(traces) == 1
        assert {s.name for s in traces[0].data.spans} == {"ask", "retrieve"}


def test_an_explicit_flush_waits_for_a_running_one_then_says_so(data_dir) -> None:
    import pytest

    from tidyllm.errors import TrackingError

    with UnifiedSessionManager(data_dir=data_dir, mlflow={"background_flush": False}) as sm:
        outbox = sm.outbox()
        outbox.root.mkdir(parents=True, exist_ok=True)
        held = outbox.ship_lock()
        held.acquire()  # a background flush is running
        try:
            with pytest.raises(TrackingError, match="still running"):
                flush(sm, wait=0.2)
        finally:
            held.release()
