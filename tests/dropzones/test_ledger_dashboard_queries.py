"""The ledger's dashboard queries: files finished per 5 minutes over the last hour, and the
newest retryable failures, on rows whose times are set exactly."""

from __future__ import annotations

import pytest

from tidyllm.dropzones.ledger import Ledger

INSERT = """
INSERT INTO files (zone, key, key_bytes, fingerprint, size, pipeline, pipeline_version,
                   max_attempts, state, location, finished_at, error)
VALUES (%(zone)s, %(key)s, %(key_bytes)s, %(key)s, 1, 'index', 'v1', 3, %(state)s,
        %(location)s, now() - make_interval(secs => %(ago)s), %(error)s)
RETURNING id
"""


def add(sm, zone: str, key: str, state: str, ago: float, location: str = "processed") -> int:
    error = '{"message": "boom"}' if state in ("failed", "dead") else None
    params = {
        "zone": zone,
        "key": key,
        "key_bytes": key.encode(),
        "state": state,
        "location": location,
        "ago": ago,
        "error": error,
    }
    with sm.connection() as conn:
        return conn.execute(INSERT, params).fetchone()[0]


def test_throughput_counts_files_finished_per_five_minutes_oldest_first(sm) -> None:
    add(sm, "a", "now-1", "done", 10)
    add(sm, "a", "now-2", "failed", 200, location="failed")
    add(sm, "a", "ten-min", "duplicate", 610)
    add(sm, "a", "last-bucket", "done", 3500)
    add(sm, "a", "too-old", "done", 3700)
    add(sm, "b", "other-zone", "done", 10)
    found = Ledger(sm).throughput(["a", "c"])
    assert found["c"] == [0] * 12  # a zone with nothing finished
    a = found["a"]
    assert len(a) == 12 and sum(a) == 4
    assert a[-1] == 2  # the newest 5 minutes
    assert a[-3] == 1  # 10 to 15 minutes ago
    assert a[0] == 1  # 55 to 60 minutes ago
    assert "b" not in found
    with pytest.raises(ValueError):
        Ledger(sm).throughput(["a"], span=3600, step=7)


def test_recent_failures_are_the_newest_retryable_ones_of_the_zones_named(sm) -> None:
    old = add(sm, "z", "old", "failed", 600, location="failed")
    new = add(sm, "z", "new", "dead", 60, location="failed")
    add(sm, "z", "retried", "failed", 30, location="gone")  # moved back already
    add(sm, "y", "elsewhere", "failed", 10, location="failed")
    rows = Ledger(sm).recent_failures(["z"])
    assert [r.id for r in rows] == [new, old]
    assert Ledger(sm).recent_failures(["z"], limit=1)[0].id == new
    assert Ledger(sm).recent_failures([]) == []
