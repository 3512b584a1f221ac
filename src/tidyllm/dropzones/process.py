"""Processing one claimed file, from its ledger row to processed/ or failed/.

Order of work, and why:

1. a row whose move was already planned (a worker died mid-move) only finishes the move;
2. bad input that needs no reading (hostile name, symlink, wrong type, too large from
   its size alone) fails at once - a sparse 100 GiB file is never read;
3. the bytes are copied to a private temp file while hashed, and the object's
   fingerprint is checked before and after, so the hash is of exactly what is processed;
4. the content is claimed (``file_contents``): the same bytes already processed, with a
   result that still stands (an indexed document still in its domain), make this file a
   ``duplicate``; the same bytes being processed by another worker right now make this
   file wait;
5. the pipeline runs, a ``step`` event as each step starts (the file's live stage);
   bad input (``FileRejected``) fails the file, anything else is
   transient and retried with exponential backoff and jitter, ``dead`` after
   ``max_attempts``;
6. destination planned in the ledger, attachments written, file moved, ledger updated.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tidyllm.dropzones.detect import _fingerprint_local, _head_s3, _lstat_local
from tidyllm.dropzones.ledger import FileRow, Ledger
from tidyllm.dropzones.moves import dest_key, move_file, quarantine_key, write_attachments
from tidyllm.dropzones.pipeline import Pipeline, StepContext
from tidyllm.dropzones.report import error_record
from tidyllm.dropzones.zone import INCOMING, Zone
from tidyllm.errors import FileRejected, ObjectExists
from tidyllm.objectstore.base import CHUNK_SIZE
from tidyllm.redaction import redact

log = logging.getLogger(__name__)

MAX_NAME_RETRIES = 5


class LeaseLost(Exception):
    """Another worker took this file over (our lease expired); stop touching it."""


@dataclass
class Outcome:
    """How one file ended (for batch metrics)."""

    file_id: int
    zone: str
    state: str  # done, failed, duplicate, dead, vanished, superseded, retry, busy, lost
    size: int = 0
    pages: int = 0
    seconds: float = 0.0
    error: dict[str, Any] | None = None


@dataclass
class Processor:
    """Everything needed to process files: session, ledger, zones, pipelines, identity."""

    sm: Any
    ledger: Ledger
    zones: dict[str, Zone]
    pipelines: dict[str, Pipeline]
    owner: str
    tmpdir: Path
    backoff_base: float = 1.0
    backoff_cap: float = 60.0
    busy_delay: float = 1.0
    _rng: random.Random = field(default_factory=random.Random)

    def process(self, row: FileRow) -> Outcome:
        """Take one claimed row to its end (or back to pending with a delay)."""
        start = time.monotonic()
        zone = self.zones[row.zone]
        try:
            outcome = self._process(zone, row)
        except LeaseLost:
            outcome = Outcome(row.id, row.zone, "lost")
        except FileRejected as exc:
            outcome = self._fail(zone, row, _err(exc.code, str(exc), exc.hint))
        except Exception as exc:
            outcome = self._transient(zone, row, exc)
        outcome.seconds = time.monotonic() - start
        return outcome

    # -- the steps above ------------------------------------------------------------------------
    def _process(self, zone: Zone, row: FileRow) -> Outcome:
        if row.target_state is not None and row.dest_key is not None:
            return self._resume(zone, row)
        if row.attempts > row.max_attempts:
            last = row.error or {}
            return self._fail(
                zone,
                row,
                _err(
                    "dead",
                    f"gave up after {row.max_attempts} attempts; last error: "
                    f"{last.get('message', 'the worker processing it stopped')}",
                    "",
                ),
                state="dead",
            )
        self._reject_early(zone, row)
        path = self.tmpdir / f"file-{row.id}"
        try:
            sha256, size = self._fetch(zone, row, path)
            if sha256 is None:
                return self._gone(row, "superseded" if size else "vanished")
            if not self.ledger.set_hash(row, self.owner, sha256):
                raise LeaseLost
            verdict, other = self.ledger.claim_content(row, sha256, self.owner)
            if verdict == "busy":
                self.ledger.retry_later(
                    row,
                    self.owner,
                    error=_err("busy", f"the same content is being processed as #{other}", ""),
                    delay=self.busy_delay,
                    count=False,
                )
                return Outcome(row.id, row.zone, "busy")
            if verdict == "duplicate":
                result = {"duplicate_of": other, "sha256": sha256}
                # issue 13: the same bytes under this name are one more name of the document
                self._name_document(zone, row, other, sha256)
                return self._finish(zone, row, "duplicate", result=result, duplicate_of=other)
            return self._run_pipeline(zone, row, path, sha256, size)
        finally:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()

    def _name_document(self, zone: Zone, row: FileRow, other: int | None, sha256: str) -> None:
        """Record a duplicate file's name on the document its content's owner indexed."""
        owner = None if other is None else self.ledger.get(other)
        index = ((owner.result or {}).get("steps") or {}).get("index") if owner else None
        if not isinstance(index, dict) or not isinstance(index.get("document_id"), int):
            return  # not indexed (another pipeline): nothing to name
        try:
            from tidyllm.knowledge.dedup import name_duplicate
        except ImportError:  # pragma: no cover - the engine without the knowledge module
            return
        name_duplicate(
            self.sm,
            index["document_id"],
            zone.store.uri(INCOMING + row.key),
            content_hash=sha256,
            version=str(row.id),
            metadata={"zone": zone.name, "key": row.key},
        )

    def _reject_early(self, zone: Zone, row: FileRow) -> None:
        if row.kind == "invalid_name":
            raise FileRejected(
                "invalid_name",
                f"the file name {row.display_key!r} is unsafe or too long to store",
                hint="",
            )
        if row.kind == "symlink":
            raise FileRejected(
                "symlink", f"{row.display_key!r} is a symbolic link; links are never followed"
            )
        if row.kind != "file":
            raise FileRejected("not_a_file", f"{row.display_key!r} is not a regular file")
        if not zone.allows(row.key.strip()):  # " UPPER .PDF " is a .pdf
            allowed = ", ".join(zone.settings.allowed_types)
            raise FileRejected(
                "type_not_allowed", f"zone {zone.name!r} accepts only these types: {allowed}"
            )
        if row.size > zone.max_bytes:
            raise FileRejected(
                "too_large",
                f"the file is {row.size / 1048576:.1f} MiB; zone {zone.name!r} accepts at most "
                f"{zone.settings.max_file_size_mb:g} MiB",
            )
        if row.size == 0:
            from tidyllm.extraction.failures import HINTS  # the same words as extraction's

            raise FileRejected("empty", "the file is empty (0 bytes)", hint=HINTS["empty"])

    def _current_fingerprint(self, zone: Zone, row: FileRow) -> str | None:
        if zone.is_s3:
            sighting = _head_s3(self.sm, zone, row.key)
            return None if sighting is None else sighting.fingerprint
        st = _lstat_local(zone, row.key)
        return None if st is None else _fingerprint_local(st)

    def _fetch(self, zone: Zone, row: FileRow, path: Path) -> tuple[str | None, int]:
        """Copy to ``path`` while hashing. ``(None, 0)``: gone; ``(None, 1)``: changed."""
        before = self._current_fingerprint(zone, row)
        if before is None:
            return None, 0
        if before != row.fingerprint:
            return None, 1
        digest = hashlib.sha256()
        size = 0
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        with os.fdopen(fd, "wb") as out, zone.store.get(INCOMING + row.key) as stream:
            while chunk := stream.read(CHUNK_SIZE):
                size += len(chunk)
                if size > zone.max_bytes:
                    raise FileRejected("too_large", "the file grew past the zone's size limit")
                digest.update(chunk)
                out.write(chunk)
        if self._current_fingerprint(zone, row) != before:
            return None, 1
        return digest.hexdigest(), size

    def _run_pipeline(
        self, zone: Zone, row: FileRow, path: Path, sha256: str, size: int
    ) -> Outcome:
        pipeline = self.pipelines[zone.name]
        ctx = StepContext(
            sm=self.sm,
            zone=zone,
            file_id=row.id,
            key=row.key,
            path=path,
            sha256=sha256,
            size=size,
            source_uri=zone.store.uri(INCOMING + row.key),
            version=str(row.id),
            reindex=row.reindex,
        )
        for step in pipeline.steps:
            if not self.ledger.step(row, self.owner, step.name):  # a ``step`` event
                raise LeaseLost
            ctx.results[step.name] = step.run(ctx)
        result = {
            "pipeline": pipeline.name,
            "pipeline_version": pipeline.version,
            "sha256": sha256,
            "steps": ctx.results,
        }
        pages = int(ctx.results.get("extract", {}).get("pages", 0) or 0)
        outcome = self._finish(zone, row, "done", result=result, attachments=ctx.attachments)
        outcome.pages = pages
        return outcome

    # -- endings --------------------------------------------------------------------------------
    def _finish(
        self,
        zone: Zone,
        row: FileRow,
        state: str,
        *,
        result: dict | None = None,
        error: dict | None = None,
        duplicate_of: int | None = None,
        attachments: dict[str, bytes] | None = None,
    ) -> Outcome:
        location = "processed" if state in ("done", "duplicate") else "failed"
        attachments = dict(attachments or {})
        for attempt in range(MAX_NAME_RETRIES):
            if row.kind == "file":
                dest = dest_key(zone, row.key, row.id, location, attempt)
            else:
                dest = quarantine_key(row.key, row.id, location, attempt)
            if error is not None:
                attachments["error.json"] = error_record(
                    zone=zone.name,
                    key=row.display_key,
                    file_id=row.id,
                    code=error["code"],
                    message=error["message"],
                    hint=error.get("hint", ""),
                    attempts=row.attempts,
                    kind=row.kind,
                )
            ok = self.ledger.plan_finish(
                row,
                self.owner,
                target=state,
                dest_key=dest,
                error=error,
                result=result,
                duplicate_of=duplicate_of,
            )
            if not ok:
                raise LeaseLost
            try:
                write_attachments(zone, dest, attachments)
                move_file(self.sm, zone, row.key, row.kind, dest)
                break
            except ObjectExists:
                log.warning("%s is taken by another object; trying another name", dest)
        else:
            raise FileRejected("name_clash", "no free destination name was found")
        if not self.ledger.finish(_with(row, target_state=state), self.owner, location=location):
            raise LeaseLost
        return Outcome(row.id, row.zone, state, size=row.size, error=error)

    def _resume(self, zone: Zone, row: FileRow) -> Outcome:
        """Finish a move another worker planned and started before it died."""
        state = row.target_state or "failed"
        location = "processed" if state in ("done", "duplicate") else "failed"
        dest = row.dest_key or ""
        if row.error is not None:
            write_attachments(
                zone,
                dest,
                {
                    "error.json": error_record(
                        zone=zone.name,
                        key=row.display_key,
                        file_id=row.id,
                        code=row.error.get("code", "unknown"),
                        message=row.error.get("message", ""),
                        hint=row.error.get("hint", ""),
                        attempts=row.attempts,
                        kind=row.kind,
                    )
                },
            )
        move_file(self.sm, zone, row.key, row.kind, dest)
        if not self.ledger.finish(row, self.owner, location=location):
            raise LeaseLost
        return Outcome(row.id, row.zone, state, size=row.size, error=row.error)

    def _fail(self, zone: Zone, row: FileRow, error: dict, state: str = "failed") -> Outcome:
        try:
            return self._finish(zone, row, state, error=error)
        except LeaseLost:
            return Outcome(row.id, row.zone, "lost")
        except Exception as exc:  # the move itself hit a transient error
            return self._transient(zone, row, exc, planned=True)

    def _gone(self, row: FileRow, state: str) -> Outcome:
        why = {
            "vanished": "the file was removed from incoming/ before it was processed",
            "superseded": "the file changed while queued; its new version is processed instead",
        }[state]
        if not self.ledger.mark_gone(row, self.owner, state=state, error=_err(state, why, "")):
            return Outcome(row.id, row.zone, "lost")
        return Outcome(row.id, row.zone, state)

    def _transient(self, zone: Zone, row: FileRow, exc: BaseException, planned: bool = False):
        error = _err("transient", f"{exc.__class__.__name__}: {redact(exc)}", "")
        log.warning("file #%s in zone %s: transient error: %s", row.id, row.zone, error["message"])
        delay = min(self.backoff_cap, self.backoff_base * 2 ** max(row.attempts - 1, 0))
        delay *= self._rng.uniform(0.5, 1.5)
        try:
            self.ledger.retry_later(row, self.owner, error=error, delay=delay)
        except Exception as again:  # the database itself is down: the lease will expire
            log.warning("could not record the retry of #%s: %s", row.id, redact(again))
        return Outcome(row.id, row.zone, "retry", error=error)


def _err(code: str, message: str, hint: str) -> dict[str, str]:
    return {"code": code, "message": redact(message), "hint": redact(hint)}


def _with(row: FileRow, **changes: Any) -> FileRow:
    from dataclasses import replace

    return replace(row, **changes)
