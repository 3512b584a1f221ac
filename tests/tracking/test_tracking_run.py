"""Run validation and redaction: bad input fails at once and nothing is sent or buffered."""

from __future__ import annotations

from pathlib import Path

import pytest
from tracking_helpers import client_factory, files_containing

from tidyllm.errors import InvalidRunData, TidyLLMError
from tidyllm.tracking import Tracker, prepare_run


def _prepare(**overrides):
    fields = {
        "experiment": "exp",
        "run_name": None,
        "params": {},
        "metrics": {},
        "tags": {},
        "artifacts": {},
    }
    fields.update(overrides)
    return prepare_run(**fields)


def test_values_are_stringified_and_redacted(canary: str) -> None:
    run = _prepare(
        run_name=f"batch {canary}",
        params={"url": f"postgresql://u:{canary}@db/x", "n": 3},
        metrics={"p50": 1, "p95": 2.5, "nan": float("nan")},
        tags={"who": f"token={canary}"},
        artifacts={"report.txt": f"key {canary}", "nested/r.json": b'{"a": 1}'},
    )
    assert run.params == {"url": "postgresql://u:***@db/x", "n": "3"}
    assert run.tags == {"who": "token=***"}
    assert run.run_name == "batch ***"
    assert run.artifacts == {"report.txt": b"key ***", "nested/r.json": b'{"a": 1}'}
    assert run.metrics["p95"] == 2.5


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("metrics", {"latency": "fast"}, "must be a number"),
        ("metrics", {"ok": True}, "must be a number"),
        ("metrics", {"none": None}, "must be a number"),
        ("metrics", {"huge": 10**400}, "64-bit float"),
        ("params", {"": "x"}, "non-empty string"),
        ("params", {"bad*key": "x"}, "may only hold"),
        ("params", {"a/../b": "x"}, "normalised"),
        ("params", {"/abs": "x"}, "normalised"),
        ("params", {"k" * 251: "x"}, "longer than"),
        ("params", {"long": "v" * 6001}, "MLflow allows 6000"),
        ("params", {3: "x"}, "non-empty string"),
        ("params", ["not", "a", "mapping"], "must be a mapping"),
        ("tags", {"tidyllm.run_key": "x"}, "set by the tracker"),
        ("tags", {"mlflow.runName": "x"}, "set by the tracker"),
        ("tags", {"t": "v" * 8001}, "MLflow allows 8000"),
        ("artifacts", {"../escape.txt": "x"}, "relative path"),
        ("artifacts", {"/etc/passwd": "x"}, "relative path"),
        ("artifacts", {"a\\b.txt": "x"}, "relative path"),
        ("artifacts", {"a//b.txt": "x"}, "relative path"),
        ("artifacts", {"bad\x00name": "x"}, "relative path"),
        ("artifacts", {"a": "x", "a/b": "y"}, "would sit inside"),
        ("artifacts", {"n.txt": 42}, "bytes, str or a path"),
        ("artifacts", {"n.txt": Path("/nonexistent/file.txt")}, "not a readable file"),
        ("artifacts", {"n.txt": Path("/")}, "not a readable file"),
    ],
)
def test_bad_input_is_refused_with_a_clear_error(field: str, value: object, message: str) -> None:
    with pytest.raises(InvalidRunData, match=message) as info:
        _prepare(**{field: value})
    assert isinstance(info.value, TidyLLMError) and isinstance(info.value, ValueError)


def test_secret_in_a_name_is_refused_without_echoing_it(canary: str) -> None:
    for field in ("params", "metrics", "tags", "artifacts"):
        with pytest.raises(InvalidRunData, match="contains a secret") as info:
            _prepare(**{field: {f"k{canary}": 1}})
        assert canary not in str(info.value)


def test_binary_artifact_holding_a_secret_is_refused(canary: str) -> None:
    blob = b"\xff\xfe\x00" + canary.encode() + b"\x80"
    with pytest.raises(InvalidRunData, match="binary and contains a secret") as info:
        _prepare(artifacts={"blob.bin": blob})
    assert canary not in str(info.value)
    clean = b"\xff\xfe\x00\x80binary"
    assert _prepare(artifacts={"blob.bin": clean}).artifacts["blob.bin"] == clean


def test_path_artifact_is_read_and_redacted(tmp_path: Path, canary: str) -> None:
    source = tmp_path / "report.md"
    source.write_text(f"# report\nsecret: {canary}\n")
    run = _prepare(artifacts={"reports/report.md": source})
    assert run.artifacts["reports/report.md"] == b"# report\nsecret: ***\n"


@pytest.mark.parametrize("name", ["", "   ", "x" * 501, "bad\nname", None])
def test_bad_experiment_name_is_refused(tmp_path: Path, name: object) -> None:
    with pytest.raises(InvalidRunData, match="experiment name"):
        Tracker(client_factory("http://127.0.0.1:9"), name, tmp_path)  # type: ignore[arg-type]


def test_log_run_with_bad_input_sends_and_buffers_nothing(tmp_path: Path, dead_url: str) -> None:
    tracker = Tracker(client_factory(dead_url), "exp", tmp_path / "buffer")
    with pytest.raises(InvalidRunData, match="latency"):
        tracker.log_run(params={"a": 1}, metrics={"latency": "fast"})
    assert tracker.pending() == 0
    assert not files_containing(tmp_path, "latency")
