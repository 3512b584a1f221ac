"""extract_isolated: the same results in a child process, and faults that cannot hurt us."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tidyllm.extraction import ExtractionError, ExtractLimits, extract, extract_isolated, isolate

DOUBLES = "extraction_doubles"


@pytest.fixture
def quick_grace(monkeypatch: pytest.MonkeyPatch) -> None:
    """A shorter start-up allowance so the wall-clock tests finish quickly."""
    monkeypatch.setattr(isolate, "STARTUP_GRACE_SECONDS", 2.0)


@pytest.fixture
def some_file(tmp_path: Path) -> Path:
    path = tmp_path / "input.txt"
    path.write_text("anything")
    return path


def test_isolated_matches_in_process(fed_pdf: Path) -> None:
    assert extract_isolated(fed_pdf) == extract(fed_pdf)


def test_isolated_reports_the_child_error_with_code_and_hint(encrypted_pdf: Path) -> None:
    with pytest.raises(ExtractionError) as info:
        extract_isolated(encrypted_pdf)
    assert info.value.code == "encrypted"
    assert "password" in info.value.hint


def test_isolated_refuses_oversized_file_without_a_child(tmp_path: Path) -> None:
    path = tmp_path / "huge.pdf"
    path.write_bytes(b"%PDF-1.7\n")
    os.truncate(path, 1 << 40)
    with pytest.raises(ExtractionError) as info:
        extract_isolated(path, runner=f"{DOUBLES}:hanging_parser")
    assert info.value.code == "too_large"
    assert not Path(str(path) + ".pid").exists()  # the child never started
    path.unlink()


def test_hanging_parser_times_out_and_is_killed(some_file: Path, quick_grace: None) -> None:
    with pytest.raises(ExtractionError) as info:
        extract_isolated(
            some_file, limits=ExtractLimits(max_seconds=0.5), runner=f"{DOUBLES}:hanging_parser"
        )
    assert info.value.code == "timeout"
    pid = int(Path(str(some_file) + ".pid").read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # gone, and reaped


def test_memory_hog_is_out_of_memory(some_file: Path) -> None:
    with pytest.raises(ExtractionError) as info:
        extract_isolated(
            some_file,
            limits=ExtractLimits(max_memory_mb=256),
            runner=f"{DOUBLES}:memory_hog_parser",
        )
    assert info.value.code == "out_of_memory"
    assert "256 MB" in str(info.value)


@pytest.mark.parametrize(
    ("runner", "signal_name"), [("segfault_parser", "SIGSEGV"), ("killed_parser", "SIGKILL")]
)
def test_parser_killed_by_a_signal_is_crashed(
    some_file: Path, runner: str, signal_name: str
) -> None:
    with pytest.raises(ExtractionError) as info:
        extract_isolated(some_file, runner=f"{DOUBLES}:{runner}")
    assert info.value.code == "crashed"
    assert signal_name in str(info.value)


def test_worker_goes_on_after_every_fault(some_file: Path, fed_pdf: Path) -> None:
    for runner in ("segfault_parser", "killed_parser"):
        with pytest.raises(ExtractionError):
            extract_isolated(some_file, runner=f"{DOUBLES}:{runner}")
    assert len(extract_isolated(fed_pdf).pages) == 33


def test_child_gets_no_credentials_from_the_environment(
    some_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    canary = "canary-secret-4f1d9c"
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", canary)
    monkeypatch.setenv("DATABASE_URL", f"postgresql://u:{canary}@db/x")
    doc = extract_isolated(some_file, runner=f"{DOUBLES}:environment_echo_parser")
    assert "PATH=" in doc.text
    assert canary not in doc.text


def test_unknown_runner_is_reported_as_crashed(some_file: Path) -> None:
    with pytest.raises(ExtractionError) as info:
        extract_isolated(some_file, runner=f"{DOUBLES}:no_such_parser")
    assert info.value.code == "crashed"
