"""The ledger records each pipeline step as it starts (a ``step`` event): the file's live
stage while it is processed, and afterwards the stages it went through, in order."""

from __future__ import annotations

import io
from typing import Any

from dropzone_helpers import open_dz, rows, zone_conf

from tidyllm.dropzones import pipeline
from tidyllm.dropzones.ledger import claim_steps, current_stage


class PeekStep:
    """A test double between two real steps: reads its own file's ledger history."""

    name = "peek"
    version = "1"

    def __init__(self) -> None:
        self.dz: Any = None
        self.seen: list[tuple[str, str | None]] = []

    def run(self, ctx: pipeline.StepContext) -> dict[str, Any]:
        (entry,) = self.dz.history(ctx.file_id)
        state = entry["file"]["state"]
        self.seen.append((state, current_stage(state, entry["events"])))
        return {}


def test_each_step_is_recorded_as_it_starts_and_is_the_live_stage(
    data_dir, database_url, tmp_path, monkeypatch
):
    pipeline.get_step("extract")  # the built-ins are loaded before the double joins them
    peek = PeekStep()
    monkeypatch.setitem(pipeline._REGISTRY, "peek", peek)
    root = tmp_path / "zone"
    (root / "incoming").mkdir(parents=True)
    (root / "incoming" / "note.txt").write_text("A note on the northern valley.\n")
    zone = zone_conf("docs", str(root), pipeline="extract,peek,report")
    with open_dz(data_dir, database_url, [zone]) as dz:
        peek.dz = dz
        assert dz.drain(track=False).count("done") == 1
        (row,) = rows(dz)
        (entry,) = dz.history(row["id"])
    # while it ran, the ledger said: processing, in the peek step
    assert peek.seen == [("processing", "peek")]
    kinds = [e["kind"] for e in entry["events"]]
    assert kinds == ["detected", "claimed", "step", "step", "step", "done"], kinds
    assert claim_steps(entry["events"]) == ["extract", "peek", "report"]
    steps = [e for e in entry["events"] if e["kind"] == "step"]
    assert all(e["worker"] == steps[0]["worker"] for e in steps)
    assert [e["at"] for e in steps] == sorted(e["at"] for e in steps)
    # final: no live stage, the history stays
    assert current_stage(entry["file"]["state"], entry["events"]) is None


def test_a_step_is_not_recorded_without_the_lease(data_dir, database_url, tmp_path):
    root = tmp_path / "zone"
    (root / "incoming").mkdir(parents=True)
    with open_dz(data_dir, database_url, [zone_conf("docs", str(root))]) as dz:
        dz.drop_data(io.BytesIO(b"alpha"), zone="docs", name="a.txt")
        (claimed,) = dz.ledger.claim(["docs"], "worker-a", lease=30)
        assert dz.ledger.step(claimed, "worker-a", "extract") is True
        assert dz.ledger.step(claimed, "worker-b", "extract") is False  # not its lease
        kinds = [e["kind"] for e in dz.history(claimed.id)[0]["events"]]
    assert kinds == ["detected", "claimed", "step"]


def test_the_stage_is_that_of_the_latest_claim():
    events = [
        {"kind": "detected", "detail": {}},
        {"kind": "claimed", "detail": {"attempt": 1}},
        {"kind": "step", "detail": {"step": "extract"}},
        {"kind": "retry_later", "detail": {}},
        {"kind": "claimed", "detail": {"attempt": 2}},
    ]
    assert current_stage("processing", events) is None  # fetching, no step yet
    events.append({"kind": "step", "detail": {"step": "extract"}})
    assert current_stage("processing", events) == "extract"
    assert current_stage("pending", events) is None
    assert claim_steps(events) == ["extract"]
