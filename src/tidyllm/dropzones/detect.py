"""Detection: the reconciliation scan, plus events that cut latency.

* :func:`scan_zone` streams the zone's incoming/ listing into the ledger in
  batches (memory stays flat however large the prefix). One scanner per zone at a
  time across all workers: a session advisory lock that the others skip.
* :class:`EventInbox` collects keys named by events - watchdog for local folders
  (created, moved-in, modified), S3 notifications through SQS - and
  :func:`observe` checks and records each one. Events only make things faster;
  the periodic scan is what guarantees nothing is missed.

A local file is eligible when its size and mtime have not changed for the zone's
quiet period (a file still being written keeps moving its mtime). S3 objects
appear whole, so they are eligible at once.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import stat
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote_plus

from tidyllm.dropzones.ledger import Ledger, Sighting
from tidyllm.dropzones.zone import INCOMING, Zone
from tidyllm.knowledge.sidecars import is_metadata_file
from tidyllm.objectstore.keys import is_valid_key

log = logging.getLogger(__name__)

BATCH = 1000
TMP_PREFIX = ".tidyllm-tmp-"  # the local object store's temp files (never complete objects)
# A temp file unchanged this long belongs to a writer that died (a SIGKILLed upload): swept.
STALE_TMP_SECONDS = 3600.0

SCAN_LOCK = "SELECT pg_try_advisory_lock(hashtextextended(%(name)s, 0))"
SCAN_UNLOCK = "SELECT pg_advisory_unlock(hashtextextended(%(name)s, 0))"


@dataclass
class ScanResult:
    """What one scan saw: objects listed, new ledger rows, files not yet quiet."""

    zone: str
    listed: int = 0
    new: int = 0
    unquiet: int = 0
    skipped: bool = False  # another worker holds this zone's scan lock


def _fingerprint_s3(etag: str, size: int, modified: datetime) -> str:
    return f"{etag}:{size}:{int(modified.timestamp())}"


def _fingerprint_local(st: os.stat_result) -> str:
    return f"{st.st_ino}:{st.st_size}:{st.st_mtime_ns}"


def _local_sighting(key: str, st: os.stat_result) -> Sighting:
    if stat.S_ISLNK(st.st_mode):
        kind = "symlink"
    elif not stat.S_ISREG(st.st_mode):
        kind = "special"
    elif not is_valid_key(INCOMING + key):
        kind = "invalid_name"
    else:
        kind = "file"
    modified = datetime.fromtimestamp(st.st_mtime, UTC)
    return Sighting(key, _fingerprint_local(st), st.st_size, modified, kind)


def _quiet(st: os.stat_result, quiet_period: float, now: float) -> bool:
    return not stat.S_ISREG(st.st_mode) or now - st.st_mtime >= quiet_period


def _walk_local(folder: str, base: str = "") -> Iterator[tuple[str, os.stat_result]]:
    """Every entry under ``folder`` (files, symlinks, specials), never following symlinks."""
    try:
        it = os.scandir(folder)
    except (FileNotFoundError, NotADirectoryError):
        return
    with it:
        for entry in it:
            if entry.name.startswith(TMP_PREFIX):
                _sweep_stale_tmp(entry)
                continue
            try:
                st = entry.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue
            if stat.S_ISDIR(st.st_mode):
                yield from _walk_local(entry.path, base + entry.name + "/")
            else:
                yield base + entry.name, st


def _sweep_stale_tmp(entry: os.DirEntry[str]) -> None:
    """Remove a temp file no writer has touched for :data:`STALE_TMP_SECONDS`.

    A live write keeps moving its mtime; one that stood still that long was left by a
    process killed mid-write (it never became an object, nothing in the ledger names it).
    """
    try:
        st = entry.stat(follow_symlinks=False)
        if stat.S_ISREG(st.st_mode) and time.time() - st.st_mtime > STALE_TMP_SECONDS:
            os.unlink(entry.path)
            log.info("removed a temp file left by a stopped writer: %s", entry.name)
    except OSError:
        pass


def list_incoming(zone: Zone, counts: ScanResult) -> Iterator[Sighting]:
    """Stream the zone's eligible incoming objects as sightings."""
    if zone.is_s3:
        for info in zone.store.list(INCOMING):
            counts.listed += 1
            key = info.key[len(INCOMING) :]
            if is_metadata_file(key):  # issue 13: sidecars describe files; never processed
                continue
            kind = "file" if is_valid_key(info.key) else "invalid_name"
            fp = _fingerprint_s3(info.etag, info.size, info.modified)
            yield Sighting(key, fp, info.size, info.modified, kind)
        return
    root = zone.local_root
    assert root is not None
    now = time.time()
    for key, st in _walk_local(str(root / "incoming")):
        counts.listed += 1
        if is_metadata_file(key):  # issue 13: sidecars describe files; never processed
            continue
        if not _quiet(st, zone.settings.quiet_period, now):
            counts.unquiet += 1
            continue
        yield _local_sighting(key, st)


def scan_zone(
    sm: Any, ledger: Ledger, zone: Zone, pipeline: Any, *, worker: str | None = None
) -> ScanResult:
    """Reconcile incoming/ with the ledger (skipped if another worker is scanning this zone)."""
    result = ScanResult(zone.name)
    lock = {"name": f"tidyllm-scan:{zone.name}"}
    with sm.connection() as conn:
        conn.autocommit = True
        try:
            if not conn.execute(SCAN_LOCK, lock).fetchone()[0]:
                result.skipped = True
                return result
            try:
                seen_after = datetime.now(UTC)
                batch: list[Sighting] = []
                for sighting in list_incoming(zone, result):
                    batch.append(sighting)
                    if len(batch) >= BATCH:
                        new = _record(ledger, zone, pipeline, batch, seen_after, worker)
                        result.new += len(new)
                        batch = []
                result.new += len(_record(ledger, zone, pipeline, batch, seen_after, worker))
            finally:
                with contextlib.suppress(Exception):
                    conn.execute(SCAN_UNLOCK, lock)
        finally:
            conn.autocommit = False
    return result


def _record(ledger, zone, pipeline, batch, seen_after, worker, by: str = "scan") -> list[int]:
    return ledger.record(zone, pipeline, batch, seen_after=seen_after, worker=worker, by=by)


def observe(
    sm: Any,
    ledger: Ledger,
    zone: Zone,
    pipeline: Any,
    key: str,
    *,
    worker: str | None = None,
    by: str = "event",
    require_quiet: bool = True,
    reindex: bool = False,
) -> float | None:
    """Check one key named by an event; record it if eligible (``reindex``: see Ledger.record).

    Returns ``None`` when done (recorded, already known, or not there), or the
    number of seconds to wait before checking again (a local file still changing).
    """
    seen_after = datetime.now(UTC)
    if is_metadata_file(key):  # issue 13: a sidecar or manifest is read with its file
        return None
    if zone.is_s3:
        sighting = _head_s3(sm, zone, key)
    else:
        st = _lstat_local(zone, key)
        if st is None:
            return None
        if stat.S_ISDIR(st.st_mode):
            return None
        age = time.time() - st.st_mtime
        if require_quiet and stat.S_ISREG(st.st_mode) and age < zone.settings.quiet_period:
            return max(zone.settings.quiet_period - age, 0.05)
        sighting = _local_sighting(key, st)
    if sighting is not None:
        ledger.record(
            zone, pipeline, [sighting], seen_after=seen_after, worker=worker, by=by, reindex=reindex
        )
    return None


def _lstat_local(zone: Zone, key: str) -> os.stat_result | None:
    root = zone.local_root
    assert root is not None
    parts = key.split("/")
    if any(p in ("", ".", "..") for p in parts):
        return None
    parent = os.path.join(os.path.realpath(root / "incoming"), *parts[:-1])
    if os.path.realpath(parent) != os.path.normpath(parent):
        return None  # a folder on the way is a symlink: the scan reports the symlink itself
    try:
        return os.lstat(os.path.join(parent, parts[-1]))
    except (FileNotFoundError, NotADirectoryError):
        return None


def _head_s3(sm: Any, zone: Zone, key: str) -> Sighting | None:
    client = sm.s3_client()
    full = zone.store.prefix + INCOMING + key
    try:
        resp = client.head_object(Bucket=zone.store.bucket, Key=full)
    except Exception as exc:
        code = str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))
        if code in {"404", "NoSuchKey", "NotFound"}:
            return None
        raise
    modified = resp["LastModified"].astimezone(UTC)
    size = int(resp["ContentLength"])
    kind = "file" if is_valid_key(INCOMING + key) else "invalid_name"
    fp = _fingerprint_s3(resp["ETag"].strip('"'), size, modified)
    return Sighting(key, fp, size, modified, kind)


# --- events ----------------------------------------------------------------------------------


class EventInbox:
    """Keys named by events, each with the time it should be checked."""

    def __init__(self) -> None:
        self._due: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()
        self.wakeup = threading.Event()

    def put(self, zone: str, key: str, delay: float = 0.0) -> None:
        with self._lock:
            due = time.monotonic() + delay
            self._due[(zone, key)] = min(self._due.get((zone, key), due), due)
        self.wakeup.set()

    def take_due(self) -> list[tuple[str, str]]:
        now = time.monotonic()
        with self._lock:
            ready = [k for k, due in self._due.items() if due <= now]
            for k in ready:
                del self._due[k]
            return ready

    def next_due(self) -> float | None:
        with self._lock:
            return min(self._due.values()) - time.monotonic() if self._due else None


class LocalWatcher:
    """watchdog observers on local zones' incoming/ folders, feeding an :class:`EventInbox`."""

    def __init__(self, zones: list[Zone], inbox: EventInbox) -> None:
        from watchdog.events import FileSystemEventHandler
        from watchdog.observers import Observer

        self.observer = Observer()
        for zone in zones:
            root = zone.local_root
            if root is None:
                continue
            incoming = root / "incoming"
            incoming.mkdir(parents=True, exist_ok=True)
            base = os.path.realpath(incoming)

            class Handler(FileSystemEventHandler):
                def on_any_event(self, event, zone=zone, base=base):  # type: ignore[override]
                    if event.event_type not in {"created", "moved", "modified", "closed"}:
                        return
                    path = getattr(event, "dest_path", "") or event.src_path
                    if isinstance(path, bytes):
                        path = os.fsdecode(path)
                    rel = os.path.relpath(path, base)
                    if rel.startswith("..") or os.path.basename(rel).startswith(TMP_PREFIX):
                        return
                    if not event.is_directory:
                        inbox.put(zone.name, rel.replace(os.sep, "/"), zone.settings.quiet_period)

            self.observer.schedule(Handler(), base, recursive=True)

    def start(self) -> None:
        self.observer.start()

    def stop(self) -> None:
        self.observer.stop()
        self.observer.join(5)


def sqs_keys(message_body: str, zone: Zone) -> list[str]:
    """incoming/ keys named by one S3 event notification message for ``zone``."""
    try:
        body = json.loads(message_body)
    except ValueError:
        return []
    if isinstance(body, dict) and isinstance(body.get("Message"), str):  # wrapped by SNS
        with contextlib.suppress(ValueError):
            body = json.loads(body["Message"])
    keys = []
    want = zone.store.prefix + INCOMING
    for record in body.get("Records", []) if isinstance(body, dict) else []:
        s3 = record.get("s3", {}) if isinstance(record, dict) else {}
        if not str(record.get("eventName", "")).startswith("ObjectCreated"):
            continue
        if s3.get("bucket", {}).get("name") != zone.store.bucket:
            continue
        key = unquote_plus(str(s3.get("object", {}).get("key", "")))
        if key.startswith(want) and len(key) > len(want):
            keys.append(key[len(want) :])
    return keys


def poll_sqs(sm: Any, zone: Zone, inbox: EventInbox, *, wait_seconds: int = 2) -> int:
    """One long poll of the zone's queue; keys go to the inbox; returns messages handled."""
    queue = zone.settings.sqs_queue_url
    if not queue:
        return 0
    client = sm.sqs_client()
    resp = client.receive_message(
        QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=wait_seconds
    )
    messages = resp.get("Messages", [])
    for message in messages:
        for key in sqs_keys(message.get("Body", ""), zone):
            inbox.put(zone.name, key)
        client.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
    return len(messages)
