"""The heartbeat must not call a lease "lost" when this worker just finished the file itself.

The race (issue 9, item 8): the heartbeat reads the files being processed, then renews
their leases in a query of its own. A file the worker completed in between is no longer
``processing``, is not renewed, and used to be reported as "lease on file #N was lost".
The test makes the race certain instead of likely: each file takes a little longer than
one heartbeat interval, and the heartbeat's renewal query waits (through a wrapper around
the real ledger call) until the file it was asked about has finished.
"""

from __future__ import annotations

import logging
import time

from dropzone_helpers import open_dz, rows, zone_conf


def test_heartbeat_does_not_report_files_this_worker_finished(
    data_dir, database_url, tmp_path, caplog
) -> None:
    root = tmp_path / "zone"
    (root / "incoming").mkdir(parents=True)
    for i in range(3):
        (root / "incoming" / f"f{i}.txt").write_text(f"text {i}")
    with open_dz(data_dir, database_url, [zone_conf("race", str(root))]) as dz:
        worker = dz.worker(["race"], lease_seconds=1.5, track=False, watch=False)
        renewals_after_finish = []
        real_process = worker.processor.process
        real_heartbeat = worker.ledger.heartbeat

        def slow_process(row):  # longer than one heartbeat interval (lease / 3 = 0.5 s)
            time.sleep(0.8)
            return real_process(row)

        def late_heartbeat(owner, ids, *, lease):
            ids = list(ids)
            deadline = time.monotonic() + 120  # a bound for a stuck worker, not a speed target
            while time.monotonic() < deadline:  # wait until the worker has finished them
                if all(worker.ledger.get(i).state != "processing" for i in ids):
                    renewals_after_finish.append(ids)
                    break
                time.sleep(0.02)
            return real_heartbeat(owner, ids, lease=lease)

        worker.processor.process = slow_process
        worker.ledger.heartbeat = late_heartbeat
        with caplog.at_level(logging.WARNING, logger="tidyllm.dropzones.worker"):
            summary = worker.run(once=True)
        states = {r["id"]: r["state"] for r in rows(dz, "race")}
    assert sorted(o.state for o in summary.outcomes) == ["done"] * 3
    assert set(states.values()) == {"done"}
    assert renewals_after_finish, (
        "the heartbeat never raced a finished file; the test proves nothing"
    )
    lost = [r.getMessage() for r in caplog.records if "was lost" in r.getMessage()]
    assert lost == []
