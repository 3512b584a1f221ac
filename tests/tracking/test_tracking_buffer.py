"""The disk buffer on its own: atomic writes, round trips, exclusive replay claims."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from tracking_helpers import client_factory

from tidyllm.errors import BufferedRunCorrupt
from tidyllm.tracking import RunBuffer, Tracker, prepare_run


def _run(**overrides):
    fields = {
        "experiment": "exp",
        "run_name": "r",
        "params": {"a": 1},
        "metrics": {"m": 2.0, "inf": float("inf")},
        "tags": {"t": "v"},
        "artifacts": {"dir/a.txt": "hello", "b.bin": b"\x00\x01"},
    }
    fields.update(overrides)
    return prepare_run(**fields)


def test_written_run_reads_back_identically(tmp_path: Path) -> None:
    buffer = RunBuffer(tmp_path)
    run = _run()
    key = buffer.write(run)
    assert buffer.pending_keys() == [key] and buffer.count() == 1
    assert buffer.read(key) == run
    assert (tmp_path / "pending" / key / "artifacts" / "dir" / "a.txt").read_bytes() == b"hello"


def test_keys_sort_in_creation_order(tmp_path: Path) -> None:
    buffer = RunBuffer(tmp_path)
    keys = [buffer.write(_run(params={"i": i})) for i in range(5)]
    assert buffer.pending_keys() == keys


def test_half_written_run_is_invisible_and_cleaned_up_when_stale(tmp_path: Path) -> None:
    buffer = RunBuffer(tmp_path)
    buffer.write(_run())
    # What a writer killed mid-write leaves behind: a partial folder in tmp/.
    partial = tmp_path / "tmp" / "00000000000000000001-0123456789ab"
    (partial / "artifacts").mkdir(parents=True)
    (partial / "run.json").write_text('{"format": "tidy')
    assert buffer.count() == 1
    with buffer.claim() as claimed:
        assert claimed
    assert partial.exists()  # young: its writer may still be running
    old = time.time() - 2 * 3600
    os.utime(partial, (old, old))
    with buffer.claim() as claimed:
        assert claimed
    assert not partial.exists()
    assert buffer.count() == 1


def test_only_one_claim_at_a_time(tmp_path: Path) -> None:
    first, second = RunBuffer(tmp_path), RunBuffer(tmp_path)
    with first.claim() as got_first:
        assert got_first
        with second.claim() as got_second:
            assert not got_second
        tracker = Tracker(client_factory("http://127.0.0.1:9"), "exp", tmp_path)
        first.write(_run())
        assert tracker.replay() == 0  # another replayer holds the buffer
        assert tracker.pending() == 1
    with second.claim() as got_second:
        assert got_second


def test_read_of_a_non_run_names_the_file(tmp_path: Path) -> None:
    buffer = RunBuffer(tmp_path)
    key = buffer.write(_run())
    path = tmp_path / "pending" / key / "run.json"
    path.write_bytes(b"\xff\xfe not utf-8")
    with pytest.raises(BufferedRunCorrupt, match="not readable JSON") as info:
        buffer.read(key)
    assert info.value.path == path
    assert str(path) in str(info.value)


def test_move_aside_keeps_everything_and_says_why(tmp_path: Path) -> None:
    buffer = RunBuffer(tmp_path)
    key = buffer.write(_run())
    moved = buffer.move_aside(key, "because")
    assert buffer.count() == 0
    assert (moved / "artifacts" / "b.bin").read_bytes() == b"\x00\x01"
    assert (moved / "reason.txt").read_text() == "because\n"
    assert buffer.failed_runs() == [moved]
