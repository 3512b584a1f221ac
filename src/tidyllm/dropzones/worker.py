"""The worker: claims files with leases, processes them, renews leases, stops gracefully.

Threads, each with one job:

* ``concurrency`` processing threads: claim one file (``FOR UPDATE SKIP LOCKED``),
  process it, repeat; idle ones sleep until a NOTIFY, an event or the poll interval;
* a heartbeat thread renewing the leases of the files being processed;
* a listener thread (``LISTEN``) that wakes idle processing threads;
* a detector thread: reconciliation scans (at start and every ``scan_interval``),
  keys named by watchdog and SQS events;
* one SQS long-poll thread per zone with a queue, and a watchdog observer.

A worker is stateless: killed with SIGKILL it loses nothing (its leases expire and
another worker takes the files over). ``stop()`` (SIGTERM in the CLI) lets current
files finish for ``grace`` seconds, then gives the remaining leases back.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tidyllm.dropzones.batch import BatchTracker
from tidyllm.dropzones.detect import (
    EventInbox,
    LocalWatcher,
    ScanResult,
    observe,
    poll_sqs,
    scan_zone,
)
from tidyllm.dropzones.ledger import NOTIFY_CHANNEL, Ledger
from tidyllm.dropzones.pipeline import resolve_pipeline
from tidyllm.dropzones.process import Outcome, Processor
from tidyllm.dropzones.scratch import open_scratch
from tidyllm.dropzones.zone import Zone
from tidyllm.redaction import redact

log = logging.getLogger(__name__)


@dataclass
class WorkerSummary:
    """What a worker run did.

    ``mlflow_runs``: the run keys (MLflow tag ``tidyllm.run_key``) of the batch runs
    this worker handed to the tracking outbox; they reach MLflow with the next flush.
    """

    owner: str
    outcomes: list[Outcome] = field(default_factory=list)
    scans: list[ScanResult] = field(default_factory=list)
    mlflow_runs: list[str] = field(default_factory=list)
    released: int = 0

    def count(self, state: str) -> int:
        return sum(1 for o in self.outcomes if o.state == state)


class Worker:
    """Processes the given zones until stopped (or, with ``once``, until drained)."""

    def __init__(
        self,
        sm: Any,
        zones: list[Zone],
        *,
        concurrency: int = 1,
        lease_seconds: float = 30.0,
        poll_seconds: float = 1.0,
        grace_seconds: float = 20.0,
        track: bool = True,
        batch_size: int = 100,
        watch: bool = True,
        backoff_base: float = 1.0,
        backoff_cap: float = 60.0,
        on_outcome: Callable[[Outcome], None] | None = None,
        discover: Callable[[str], Zone | None] | None = None,
    ) -> None:
        """``discover`` (given when the worker serves every zone) turns the name of a zone
        it does not know, seen in a NOTIFY, into a zone to adopt: a domain created after
        the worker started (``ingest-<domain>``, e.g. an upload in ``tidyllm serve``)."""
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.sm = sm
        self.zones = {z.name: z for z in zones}
        self.pipelines = {z.name: resolve_pipeline(z.settings.pipeline) for z in zones}
        self.ledger = Ledger(sm)
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.concurrency = concurrency
        self.lease = lease_seconds
        self.poll = poll_seconds
        self.grace = grace_seconds
        self.watch = watch
        self.on_outcome = on_outcome
        self.discover = discover
        # under <data_dir>/tmp/workers/, after sweeping the copies of this host's dead workers
        self.tmpdir = open_scratch(sm.settings.data_dir)
        self.processor = Processor(
            sm,
            self.ledger,
            self.zones,
            self.pipelines,
            self.owner,
            self.tmpdir,
            backoff_base=backoff_base,
            backoff_cap=backoff_cap,
        )
        self.batches = BatchTracker(
            sm, self.ledger, self.pipelines, self.owner, enabled=track, size=batch_size
        )
        self.inbox = EventInbox()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._current: dict[int, int] = {}  # thread ident -> file id
        self._lock = threading.Lock()
        self.summary = WorkerSummary(self.owner)

    # -- public ---------------------------------------------------------------------------------
    def stop(self) -> None:
        """Ask the worker to stop (safe from a signal handler)."""
        self._stop.set()
        self._wake.set()
        self.inbox.wakeup.set()

    def run(self, *, once: bool = False) -> WorkerSummary:
        """Run until :meth:`stop` (or, with ``once``, until nothing is left to do)."""
        if not self.zones and (once or self.discover is None):
            shutil.rmtree(self.tmpdir, ignore_errors=True)
            return self.summary
        try:
            if once:
                self._scan_until_quiet()
            helpers = self._start_helpers(once)
            workers = [
                threading.Thread(target=self._work, args=(once,), name=f"dz-work-{i}", daemon=True)
                for i in range(self.concurrency)
            ]
            for t in workers:
                t.start()
            while any(t.is_alive() for t in workers):
                for t in workers:
                    t.join(0.5)
                self.batches.flush()
                if self._stop.is_set():
                    self._wait_grace(workers)
                    break
            self._stop.set()
            for t in helpers:
                t.join(5)
            if self.watcher is not None:
                self.watcher.stop()
        finally:
            self.batches.flush(force=True)
            self.summary.mlflow_runs = list(self.batches.runs)
            shutil.rmtree(self.tmpdir, ignore_errors=True)
        return self.summary

    # -- processing threads ---------------------------------------------------------------------
    def _work(self, once: bool) -> None:
        while not self._stop.is_set():
            with self._lock:
                names = list(self.zones)
            try:
                rows = self.ledger.claim(names, self.owner, lease=self.lease, limit=1)
            except Exception as exc:  # database down: wait and try again
                log.warning("claim failed: %s", redact(exc))
                self._stop.wait(self.poll)
                continue
            if not rows:
                if once and self._drained(names):
                    return
                self._wake.wait(self.poll)
                self._wake.clear()
                continue
            row = rows[0]
            with self._lock:
                self._current[threading.get_ident()] = row.id
            try:
                outcome = self.processor.process(row)
            finally:
                with self._lock:
                    self._current.pop(threading.get_ident(), None)
            self._record(outcome)

    def _drained(self, names: list[str]) -> bool:
        try:
            return self.ledger.unfinished(names, self.owner) == 0 and not self._busy_elsewhere()
        except Exception as exc:
            log.warning("could not count unfinished files: %s", redact(exc))
            return False

    def _busy_elsewhere(self) -> bool:
        with self._lock:
            return bool(self._current)

    def _record(self, outcome: Outcome) -> None:
        with self._lock:
            self.summary.outcomes.append(outcome)
        self.batches.add(outcome)
        if self.on_outcome is not None:
            self.on_outcome(outcome)

    def _wait_grace(self, workers: list[threading.Thread]) -> None:
        deadline = time.monotonic() + self.grace
        for t in workers:
            t.join(max(deadline - time.monotonic(), 0))
        with self._lock:
            left = list(self._current.values())
        if left:
            try:
                self.summary.released = self.ledger.release(self.owner, left)
            except Exception as exc:
                log.warning("could not release leases (they will expire): %s", redact(exc))

    # -- helpers --------------------------------------------------------------------------------
    def _start_helpers(self, once: bool) -> list[threading.Thread]:
        self.watcher = None
        targets: list[tuple[str, Callable[[], None]]] = [("dz-heartbeat", self._heartbeat)]
        targets.append(("dz-listen", self._listen))
        if not once:
            targets.append(("dz-detect", self._detect))
            for zone in self.zones.values():
                if zone.is_s3 and zone.settings.sqs_queue_url:
                    targets.append((f"dz-sqs-{zone.name}", lambda z=zone: self._sqs(z)))
            local = [z for z in self.zones.values() if not z.is_s3]
            if self.watch and local:
                self.watcher = LocalWatcher(local, self.inbox)
                self.watcher.start()
        threads = [threading.Thread(target=fn, name=name, daemon=True) for name, fn in targets]
        for t in threads:
            t.start()
        return threads

    def _heartbeat(self) -> None:
        while not self._stop.wait(self.lease / 3):
            with self._lock:
                ids = list(self._current.values())
            if not ids:
                continue
            try:
                held = self.ledger.heartbeat(self.owner, ids, lease=self.lease)
            except Exception as exc:
                log.warning("heartbeat failed: %s", redact(exc))
                continue
            for lost in sorted(self._really_lost(set(ids) - held)):
                log.warning("lease on file #%s was lost; another worker may take it", lost)

    def _really_lost(self, missing: set[int]) -> set[int]:
        """Of the files the heartbeat did not renew, those whose lease another worker may take.

        The heartbeat reads the current files, then renews them in a query of its own; a
        file this worker finished (or released) in between is not renewed either, and is
        not lost. So: only files still being processed here whose ledger row is still
        ``processing`` under another worker's lease (it expired and was taken over).
        """
        if not missing:
            return set()
        with self._lock:
            missing &= set(self._current.values())
        if not missing:
            return set()
        try:
            return self.ledger.taken_over(self.owner, missing)
        except Exception as exc:
            log.warning("could not check the leases of files %s: %s", sorted(missing), redact(exc))
            return set()

    def _listen(self) -> None:
        while not self._stop.is_set():
            try:
                with self.sm.connection() as conn:
                    conn.autocommit = True
                    try:
                        conn.execute(f"LISTEN {NOTIFY_CHANNEL}")  # channel is a constant
                        self._adopt_waiting()  # files dropped before LISTEN sent no note we saw
                        while not self._stop.is_set():
                            for note in conn.notifies(timeout=1.0, stop_after=1):
                                self._adopt(note.payload)
                                self._wake.set()
                    finally:
                        if not conn.closed:
                            conn.execute(f"UNLISTEN {NOTIFY_CHANNEL}")
                        conn.autocommit = False
            except Exception as exc:
                log.info("LISTEN connection lost (%s); polling until it is back", redact(exc))
                self._stop.wait(self.poll)

    def _adopt_waiting(self) -> None:
        """Adopt the unknown zones that already have pending files.

        A NOTIFY sent before this worker's LISTEN (a file uploaded into a new domain just
        as the worker started, or while the LISTEN connection was down) is never seen;
        without this its zone would wait for a restart.
        """
        if self.discover is None:
            return
        try:
            waiting = self.ledger.zones_waiting()
        except Exception as exc:
            log.warning("could not list the zones with waiting files: %s", redact(exc))
            return
        for name in waiting:
            self._adopt(name)

    def _adopt(self, name: str) -> None:
        """Start serving a zone named in a NOTIFY that this worker does not know yet."""
        if self.discover is None or name in self.zones:
            return
        try:
            zone = self.discover(name)
        except Exception as exc:
            log.warning("could not open zone %r: %s", name, redact(exc))
            return
        if zone is not None:
            with self._lock:
                self.pipelines[name] = resolve_pipeline(zone.settings.pipeline)
                self.zones[name] = zone
            self.inbox.wakeup.set()

    def _scan_until_quiet(self) -> None:
        """``--once``: scan every zone, again while local files are still being written."""
        pending = set(self.zones)
        while pending and not self._stop.is_set():
            for name in sorted(pending):
                zone = self.zones[name]
                result = self._scan(zone)
                if result is not None and result.unquiet == 0 and not result.skipped:
                    pending.discard(name)
            if pending:
                quiet = max(self.zones[n].settings.quiet_period for n in pending)
                self._stop.wait(min(max(quiet / 2, 0.1), 2.0))

    def _scan(self, zone: Zone) -> ScanResult | None:
        try:
            result = scan_zone(
                self.sm, self.ledger, zone, self.pipelines[zone.name], worker=self.owner
            )
        except Exception as exc:
            log.warning("scan of zone %s failed: %s", zone.name, redact(exc))
            return None
        self.summary.scans.append(result)
        if result.new:
            self._wake.set()
        return result

    def _detect(self) -> None:
        next_scan = {name: 0.0 for name in self.zones}
        while not self._stop.is_set():
            now = time.monotonic()
            for name in list(self.zones):  # zones adopted since (see _adopt)
                next_scan.setdefault(name, 0.0)
            for name, due in next_scan.items():
                if due <= now:
                    zone = self.zones[name]
                    result = self._scan(zone)
                    again = zone.settings.scan_interval
                    if result is not None and result.unquiet:
                        again = min(again, max(zone.settings.quiet_period, 0.2))
                    next_scan[name] = time.monotonic() + again
            for zone_name, key in self.inbox.take_due():
                self._observe(zone_name, key)
            waits = [due - time.monotonic() for due in next_scan.values()]
            inbox_due = self.inbox.next_due()
            if inbox_due is not None:
                waits.append(inbox_due)
            self.inbox.wakeup.wait(max(min([*waits, self.poll]), 0.02))
            self.inbox.wakeup.clear()

    def _observe(self, zone_name: str, key: str) -> None:
        zone = self.zones.get(zone_name)
        if zone is None:
            return
        try:
            again = observe(
                self.sm, self.ledger, zone, self.pipelines[zone_name], key, worker=self.owner
            )
        except Exception as exc:
            log.warning("event for %r in zone %s: %s", key, zone_name, redact(exc))
            return
        if again is not None:
            self.inbox.put(zone_name, key, again)
        else:
            self._wake.set()

    def _sqs(self, zone: Zone) -> None:
        while not self._stop.is_set():
            try:
                poll_sqs(self.sm, zone, self.inbox, wait_seconds=1)
            except Exception as exc:
                log.warning("SQS poll for zone %s failed: %s", zone.name, redact(exc))
                self._stop.wait(self.poll)
