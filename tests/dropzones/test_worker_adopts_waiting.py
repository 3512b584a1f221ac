"""A worker adopts a new domain's ingest zone even when the file came before its LISTEN."""

from __future__ import annotations

import io
import threading
import time

from tidyllm.dropzones import UnifiedDropZones
from tidyllm.knowledge import create_domain

BOUND = 300.0  # seconds; the file only has to be embedded (one short text)


def test_a_file_dropped_before_the_worker_listened_is_processed(sm):
    """The NOTIFY of this drop is sent before the worker's LISTEN exists, so only the
    look at the ledger when LISTEN starts can find the zone (it used to wait for a
    restart: seen in bench_api_upload as a file pending for over seven minutes)."""
    dz = UnifiedDropZones(sm)
    worker = dz.worker(poll_seconds=0.5, track=False)  # built before the domain exists
    assert "ingest-late" not in worker.zones
    create_domain(sm, "late")
    text = b"The late domain's only document says the answer is forty-two.\n"
    dz.drop_data(io.BytesIO(text), zone="ingest-late", name="upload/late.txt")
    (row,) = dz.ledger.by_key("upload/late.txt", "ingest-late")
    assert row.state == "pending"

    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + BOUND
        while dz.ledger.get(row.id).state == "pending" and time.monotonic() < deadline:
            time.sleep(0.2)
        while dz.ledger.get(row.id).state == "processing" and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        worker.stop()
        thread.join(120)
    assert "ingest-late" in worker.zones
    assert dz.ledger.get(row.id).state == "done"
