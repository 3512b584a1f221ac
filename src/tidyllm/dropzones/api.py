"""``UnifiedDropZones``: the Python API the CLI calls, one method per command.

from tidyllm import UnifiedDropZones
drop_zones = UnifiedDropZones()            # settings from the session manager
drop_zones.drop("report.pdf", zone="finance")
drop_zones.run_worker(once=True)
drop_zones.status("finance")

Besides the zones the settings file declares, each domain has an implicit zone
``ingest-<domain>`` (pipeline ``index`` into that domain) where uploads and ``tidyllm
ingest`` copies go, so any worker can finish an interrupted load. It follows the object
store: ``s3://<bucket>/<object_store.prefix>/ingest/<domain>/`` when ``object_store.bucket``
is set (every domain's, seen by every machine), else the local folder
``DATA/ingest/<domain>/`` (the folders on this machine). A settings-file zone of the same
name wins. See :func:`ingest_zone_source` and :func:`ingest_zone_settings`.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from tidyllm.access.actor import Actor, acting
from tidyllm.access.roles import Role
from tidyllm.dropzones.detect import observe
from tidyllm.dropzones.ledger import FileRow, Ledger
from tidyllm.dropzones.pipeline import resolve_pipeline
from tidyllm.dropzones.process import Outcome
from tidyllm.dropzones.worker import Worker, WorkerSummary
from tidyllm.dropzones.zone import INCOMING, UnknownZone, Zone
from tidyllm.errors import (
    DomainNotFound,
    DropZoneError,
    FileStateConflict,
    LedgerFileNotFound,
    ObjectExists,
    ObjectNotFound,
    ZoneNotFound,
)
from tidyllm.ids import MAX_ID
from tidyllm.objectstore.keys import validate_key
from tidyllm.settings.schema import ZoneSettings

INGEST_FOLDER = "ingest"
INGEST_ZONE_PREFIX = "ingest-"
OCR_PARSE_TIMEOUT = 600.0  # seconds a file may take to parse in an OCR ingest zone
_ZONE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")  # ZoneSettings.name's pattern


def _in(zone: str | None) -> str:
    return f" in zone {zone!r}" if zone else ""


def ingest_zone_name(domain: object) -> str:
    """``ingest-<domain>``; DropZoneError when that is not a valid zone name."""
    name = INGEST_ZONE_PREFIX + (domain if isinstance(domain, str) else "")
    if not isinstance(domain, str) or not _ZONE_NAME.match(name):
        raise DropZoneError(
            f"cannot ingest into domain {domain!r}: the bulk-ingest zone name {name!r} must be "
            "lower-case letters, digits, - and _ (at most 63 characters)"
        )
    return name


def _ocr_flags(sm: Any, domains: list[str]) -> dict[str, bool]:
    """The domains' OCR flags from PostgreSQL (one query), so every machine agrees."""
    from tidyllm.knowledge.domains import ocr_flags

    with sm.connection() as conn:
        return ocr_flags(conn, domains)


def ingest_zone_source(sm: Any, domain: str) -> str:
    """Where the implicit zone of ``domain`` lives: ``s3://<bucket>/<prefix>/ingest/<domain>/``
    when ``object_store.bucket`` is set (``<prefix>/`` is ``object_store.prefix``, absent when
    empty), else the local folder ``DATA/ingest/<domain>``."""
    conf = sm.settings.object_store
    if conf.bucket:
        prefix = conf.prefix.strip("/")
        return f"s3://{conf.bucket}/{prefix + '/' if prefix else ''}{INGEST_FOLDER}/{domain}/"
    return str(Path(sm.settings.data_dir) / INGEST_FOLDER / domain)


def _ingest_zone(sm: Any, name: str, domain: str, ocr: bool) -> ZoneSettings:
    source = ingest_zone_source(sm, domain)
    # OCR takes ~20 s a page and an implicit zone has no setting to raise: allow ~30 pages
    timeout = OCR_PARSE_TIMEOUT if ocr else ZoneSettings.model_fields["parse_timeout"].default
    return ZoneSettings(
        name=name,
        source=source,
        pipeline="index",
        domain=domain,
        quiet_period=0.0,
        ocr=ocr,
        parse_timeout=timeout,
    )


def ingest_zone_settings(sm: Any, domain: str) -> ZoneSettings:
    """The implicit zone a bulk ``tidyllm ingest`` (or an upload) into ``domain`` goes through.

    A zone at :func:`ingest_zone_source` (the bucket's ``ingest/<domain>/`` prefix, or
    the local folder ``DATA/ingest/<domain>``) with the ``index`` pipeline, so a
    bulk load gets the ledger's guarantees (exactly once per content, resumable,
    duplicates recorded). ``quiet_period`` is 0: ``ingest`` and uploads write each
    file completely before recording it. ``ocr`` is the domain's
    flag (``domains.ocr``, read now: a :class:`Worker` keeps the settings it was
    built with). A domain that does not exist (deleted, or not created yet) gives
    ``ocr=False``; its files then fail in the ``index`` step with a clear error.
    """
    name = ingest_zone_name(domain)
    ocr = _ocr_flags(sm, [domain]).get(domain, False)
    return _ingest_zone(sm, name, domain, ocr)


def implicit_zones(sm: Any) -> list[ZoneSettings]:
    """The implicit ingest zones: with ``object_store.bucket`` set, every domain's (they
    live in the shared bucket); else those with a folder on this machine
    (``DATA/ingest/<domain>/``).

    The database is asked once for the domains' OCR flags (locally, only when such a
    folder exists). A domain whose name is too long for a zone name has none.
    """
    if sm.settings.object_store.bucket:
        from tidyllm.knowledge.domains import ocr_flags

        with sm.connection() as conn:
            every = ocr_flags(conn, None)
        zones = []
        for domain, ocr in sorted(every.items()):
            name = INGEST_ZONE_PREFIX + domain
            if _ZONE_NAME.match(name):
                zones.append(_ingest_zone(sm, name, domain, ocr))
        return zones
    root = Path(sm.settings.data_dir) / INGEST_FOLDER
    try:
        children = sorted(root.iterdir())
    except OSError:  # no bulk ingest has run here
        return []
    found: list[tuple[str, str]] = []
    for child in children:
        if child.is_dir() and not child.is_symlink():
            try:
                found.append((ingest_zone_name(child.name), child.name))
            except DropZoneError:  # a folder someone else put there: not a zone
                continue
    if not found:
        return []
    flags = _ocr_flags(sm, [domain for _, domain in found])
    return [_ingest_zone(sm, name, domain, flags.get(domain, False)) for name, domain in found]


def domain_zones(sm: Any, names: Sequence[str]) -> list[ZoneSettings]:
    """The implicit zones among ``names`` whose domain exists (one query; none asked when no
    name starts with ``ingest-``): a domain's ``ingest-<domain>`` zone is usable by
    ``tidyllm drop`` and ``tidyllm worker`` as soon as the domain is created."""
    wanted: dict[str, str] = {}
    for name in names:
        if isinstance(name, str) and name.startswith(INGEST_ZONE_PREFIX):
            domain = name[len(INGEST_ZONE_PREFIX) :]
            if domain and _ZONE_NAME.match(name):
                wanted[name] = domain
    if not wanted:
        return []
    flags = _ocr_flags(sm, list(wanted.values()))
    return [_ingest_zone(sm, n, d, flags[d]) for n, d in wanted.items() if d in flags]


@dataclass(frozen=True)
class ZoneInfo:
    """A declared zone as ``zones list`` shows it."""

    name: str
    source: str
    pipeline: str
    pipeline_version: str
    domain: str | None
    enabled: bool
    allowed_types: tuple[str, ...]
    max_file_size_mb: float


@dataclass(frozen=True)
class ZoneOverview:
    """A zone with its ledger counts, as ``GET /api/v1/zones`` shows it."""

    name: str
    domain: str | None
    pipeline: str
    enabled: bool
    counts: dict[str, int]
    oldest_pending: Any
    finished_last_5_min: int
    finished_last_hour: int


@dataclass(frozen=True)
class Dropped:
    """Where a dropped file went."""

    zone: str
    key: str
    uri: str
    size: int


class UnifiedDropZones:
    """Drop zones over the session manager's store, database and tracker."""

    def __init__(self, sm: Any | None = None) -> None:
        """Use ``sm`` (closed by its owner) or create a session manager (closed by ``close``)."""
        if sm is None:
            from tidyllm.session import UnifiedSessionManager

            sm = UnifiedSessionManager()
            self._owns_sm = True
        else:
            self._owns_sm = False
        self.sm = sm
        self.ledger = Ledger(sm)

    def close(self) -> None:
        """Close the session manager if this object created it."""
        if self._owns_sm:
            self.sm.close()

    def __enter__(self) -> UnifiedDropZones:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- zones ----------------------------------------------------------------------------------
    def declared(self) -> list[ZoneSettings]:
        """The settings file's zones, then the implicit bulk-ingest zones it does not name."""
        zones = list(self.sm.settings.zones)
        names = {z.name for z in zones}
        return zones + [z for z in implicit_zones(self.sm) if z.name not in names]

    def _open(self, names: Sequence[str] | None, *, include_disabled: bool = False) -> list[Zone]:
        declared = {z.name: z for z in self.declared()}
        if names:
            missing = [n for n in names if n not in declared]
            for zone in domain_zones(self.sm, missing):  # a new domain's, before any ingest
                declared[zone.name] = zone
            missing = [n for n in missing if n not in declared]
            if missing:
                known = ", ".join(sorted(declared)) or "none"
                raise UnknownZone(f"unknown zone(s) {', '.join(missing)}; declared zones: {known}")
            chosen = [declared[n] for n in names]
        else:
            chosen = list(declared.values())
        if not include_disabled:
            chosen = [z for z in chosen if z.enabled]
        return [Zone(z, self.sm.object_store_for(z.source)) for z in chosen]

    def zones(self, names: Sequence[str] | None = None) -> list[Zone]:
        """The enabled zones (all, or those named)."""
        return self._open(list(names) if names else None)

    def list_zones(self) -> list[ZoneInfo]:
        """Every declared zone, enabled or not."""
        out = []
        for z in self.declared():
            pipeline = resolve_pipeline(z.pipeline)
            out.append(
                ZoneInfo(
                    z.name,
                    z.source,
                    z.pipeline,
                    pipeline.version,
                    z.domain,
                    z.enabled,
                    tuple(z.allowed_types),
                    z.max_file_size_mb,
                )
            )
        return out

    def _zone(self, name: str) -> Zone:
        zone = self._open([name], include_disabled=True)[0]
        if not zone.settings.enabled:
            raise DropZoneError(f"zone {name!r} is disabled")
        return zone

    def find_zone(self, name: str) -> Zone | None:
        """The zone ``name`` (declared, implicit, or an existing domain's ingest zone; enabled
        or not), or None."""
        try:
            return self._open([name], include_disabled=True)[0]
        except UnknownZone:
            return None

    # -- access ---------------------------------------------------------------------------------
    def _visible_domains(self, actor: Actor | None) -> set[str] | None:
        """The domains ``actor`` may see; None: every one (the operator and admins)."""
        from tidyllm.knowledge.domains import list_domains

        if acting(actor).is_admin:
            return None
        return {d.domain.name for d in list_domains(self.sm, actor=actor)}

    def catalog(self, actor: Actor | None = None) -> list[ZoneSettings]:
        """The zones ``actor`` may see: for admins (and the operator) every declared zone and
        every domain's ``ingest-<domain>`` zone; for others only the zones whose domain they
        were granted (a zone without a domain is the admins')."""
        from tidyllm.knowledge.domains import list_domains

        zones = {z.name: z for z in self.declared()}
        visible = self._visible_domains(actor)
        domains = visible if visible is not None else {d.domain.name for d in list_domains(self.sm)}
        ingest = [INGEST_ZONE_PREFIX + d for d in sorted(domains)]
        for zone in domain_zones(self.sm, [n for n in ingest if n not in zones]):
            zones[zone.name] = zone
        chosen = [z for z in zones.values() if visible is None or z.domain in visible]
        return sorted(chosen, key=lambda z: z.name)

    def _allowed(self, name: str, actor: Actor | None, need: Role) -> Zone:
        """The zone ``name`` if ``actor`` has ``need`` in its domain (admins: any zone).

        A zone whose domain the actor was not granted raises the :class:`ZoneNotFound` of a
        zone that does not exist (same message); a granted domain with too weak a role
        raises :class:`PermissionDenied`.
        """
        from tidyllm.knowledge.domains import get_domain

        if acting(actor).is_admin:
            return self._open([name], include_disabled=True)[0]
        zone = self.find_zone(name) if isinstance(name, str) else None
        domain = zone.settings.domain if zone is not None else None
        if zone is not None and domain:
            with self.sm.connection() as conn:
                try:
                    get_domain(conn, domain, actor=actor, need=need)
                    return zone
                except DomainNotFound:
                    pass
        raise ZoneNotFound(f"no zone named {name!r}; GET /api/v1/zones lists yours")

    def overview(self, *, actor: Actor | None = None) -> list[ZoneOverview]:
        """Every zone ``actor`` may see (:meth:`catalog`) with its counts by state."""
        return [
            ZoneOverview(z.name, z.domain, z.pipeline, z.enabled, **self.ledger.status(z.name))
            for z in self.catalog(actor)
        ]

    # -- drop -----------------------------------------------------------------------------------
    def drop(self, path: str | os.PathLike[str], *, zone: str, name: str | None = None) -> Dropped:
        """Upload a local file into the zone's incoming/ (never replacing an object there)."""
        self._zone(zone)  # an unknown or disabled zone is the first error
        path = Path(path)
        try:
            st = os.stat(path)
        except OSError as exc:
            raise DropZoneError(f"cannot read {str(path)!r}: {exc.strerror}") from None
        if not stat.S_ISREG(st.st_mode):
            raise DropZoneError(f"{str(path)!r} is not a regular file")
        with open(path, "rb") as data:
            return self.drop_data(data, zone=zone, name=name or path.name)

    def drop_data(self, data: BinaryIO, *, zone: str, name: str, reindex: bool = False) -> Dropped:
        """Stream ``data`` into the zone's incoming/``name`` (never replacing an object there).

        ``name`` may hold folders (``q1/report.pdf``). Raises :class:`DropZoneError`
        when the name is taken by a file still waiting there. ``reindex`` processes the
        content again even if it is already indexed (``tidyllm ingest --reindex``).
        """
        target = self._zone(zone)
        key = INCOMING + validate_key(name)
        try:
            info = target.store.put_if_absent(key, data)
        except ObjectExists:
            raise DropZoneError(
                f"{name!r} is already waiting in zone {zone!r}; "
                "wait until it is processed or drop it under another name"
            ) from None
        pipeline = resolve_pipeline(target.settings.pipeline)
        observe(
            self.sm,
            self.ledger,
            target,
            pipeline,
            key[len(INCOMING) :],
            by="drop",
            require_quiet=False,
            reindex=reindex,
        )
        return Dropped(zone, key, target.store.uri(key), info.size)

    # -- workers --------------------------------------------------------------------------------
    def worker(self, zones: Sequence[str] | None = None, **options: Any) -> Worker:
        """A :class:`Worker` for the named zones (default: every enabled zone, and the
        ingest zone of any domain it is notified about later)."""
        if not zones:
            options.setdefault("discover", self._discover)
        return Worker(self.sm, self.zones(zones), **options)

    def _discover(self, name: str) -> Zone | None:
        """The ingest zone ``name`` of an existing domain, for a running worker to adopt."""
        found = domain_zones(self.sm, [name])
        return Zone(found[0], self.sm.object_store_for(found[0].source)) if found else None

    def run_worker(
        self,
        zones: Sequence[str] | None = None,
        *,
        once: bool = False,
        on_outcome: Callable[[Outcome], None] | None = None,
        **options: Any,
    ) -> WorkerSummary:
        """Process files until stopped, or with ``once=True`` until none are left.

        An interruption (the CLI's SIGINT/SIGTERM) stops the worker gracefully: the
        current files finish within its grace period, the others' leases are released.
        """
        from tidyllm.interrupt import stoppable

        worker = self.worker(zones, on_outcome=on_outcome, **options)
        with stoppable(worker):
            return worker.run(once=once)

    def drain(self, zones: Sequence[str] | None = None, **options: Any) -> WorkerSummary:
        """Process what is there now and return (``run_worker(once=True)``)."""
        return self.run_worker(zones, once=True, **options)

    # -- reading --------------------------------------------------------------------------------
    def status(
        self, zone: str | None = None, *, actor: Actor | None = None
    ) -> dict[str, dict[str, Any]]:
        """Counts by state, oldest pending, recent throughput, per zone.

        With an ``actor``, only the zones they may see (:meth:`catalog`); a zone they may
        not see is not found, like one that does not exist.
        """
        if zone:
            if actor is None:
                self._open([zone], include_disabled=True)  # unknown zone -> clear error
            else:
                self._allowed(zone, actor, "viewer")
            names = [zone]
        elif actor is None:
            names = [z.name for z in self.declared()]
        else:
            names = [z.name for z in self.catalog(actor)]
        return {name: self.ledger.status(name) for name in names}

    def history(
        self, ref: str | int, *, zone: str | None = None, actor: Actor | None = None
    ) -> list[dict[str, Any]]:
        """The audit trail of a ledger id or of every version of a key.

        With an ``actor`` (viewer in the zone's domain), a file of a zone they may not see
        is not found, like an id that does not exist.
        """
        if actor is not None and zone is not None:
            self._allowed(zone, actor, "viewer")
        rows = self._rows(ref, zone)
        if actor is not None:
            rows = self._only_allowed(rows, actor, "viewer")
        events = self.ledger.events([r.id for r in rows])
        out = []
        for row in rows:
            out.append(
                {"file": row.as_dict(), "events": [e for e in events if e["file_id"] == row.id]}
            )
        return out

    def _only_allowed(self, rows: list[FileRow], actor: Actor, need: Role) -> list[FileRow]:
        """``rows`` when ``actor`` may see each one's zone; else not found, like a missing id."""
        for zone in sorted({r.zone for r in rows}):
            try:
                self._allowed(zone, actor, need)
            except ZoneNotFound:
                ids = ", ".join(f"#{r.id}" for r in rows if r.zone == zone)
                raise LedgerFileNotFound(f"no file {ids} in the ledger") from None
        return rows

    def _rows(self, ref: str | int, zone: str | None) -> list[FileRow]:
        if isinstance(ref, int) or (isinstance(ref, str) and ref.isdigit()):
            row = self._get(int(ref))
            if row is not None and (zone is None or row.zone == zone):
                return [row]
            if isinstance(ref, int):
                raise LedgerFileNotFound(f"no file with ledger id {ref}" + _in(zone))
        rows = self.ledger.by_key(str(ref), zone)
        if not rows:
            raise LedgerFileNotFound(f"no file named {str(ref)!r} in the ledger")
        return rows

    def _get(self, file_id: int) -> FileRow | None:
        """The row, or None (also for ids no bigint can hold, instead of an SQL error)."""
        return self.ledger.get(file_id) if 1 <= file_id <= MAX_ID else None

    def get(self, file_id: int, *, zone: str | None = None) -> FileRow:
        """The ledger row ``file_id`` (in ``zone`` when given)."""
        row = self._get(file_id)
        if row is None or (zone is not None and row.zone != zone):
            raise LedgerFileNotFound(f"no file with ledger id {file_id}" + _in(zone))
        return row

    # -- retry ----------------------------------------------------------------------------------
    def retry(
        self,
        ids: Sequence[int] | None = None,
        *,
        failed: bool = False,
        zone: str | None = None,
        actor: Actor | None = None,
    ) -> list[int]:
        """Move failed (or dead) files back to incoming/ to be processed again.

        Returns the ids of the new ledger rows. Files with unusable names or that
        were symlinks cannot be retried (there is nothing safe to move back). With
        ``zone``, the ids must be files of that zone. An ``actor`` needs the editor role
        in the zone's domain (admins: any zone); a file of a zone they may not see is not
        found; each retry is audited.
        """
        if actor is not None and zone is not None:
            self._allowed(zone, actor, "editor")
        rows = self.ledger.failed(zone) if failed else [self.get(i, zone=zone) for i in ids or ()]
        if actor is not None:
            rows = self._only_allowed(rows, actor, "editor")
        new_ids = []
        for row in rows:
            new = self._retry_one(row)
            if actor is not None:
                self._audit(actor, "file.retry", row, new)
            new_ids += new
        return new_ids

    def _retry_one(self, row: FileRow) -> list[int]:
        if row.state not in ("failed", "dead") or row.location != "failed":
            raise FileStateConflict(f"file #{row.id} is {row.state}, not failed; nothing to retry")
        if row.kind != "file":
            raise FileStateConflict(
                f"file #{row.id} ({row.kind}) cannot be retried; rename and drop it again"
            )
        target = self._enabled(row.zone)
        try:
            target.store.move(row.dest_key, INCOMING + row.key, if_absent=True)
        except ObjectExists:
            raise FileStateConflict(
                f"cannot retry #{row.id}: a different file named {row.display_key!r} is "
                "waiting in incoming/"
            ) from None
        target.store.delete(f"{row.dest_key}.error.json")
        self.ledger.mark_retried(row, None)
        return self._observe_new(target, row, by="retry")

    def _enabled(self, name: str) -> Zone:
        """The zone of a file to move back; a disabled zone is a conflict, not a crash."""
        target = self._open([name], include_disabled=True)[0]
        if not target.settings.enabled:
            raise FileStateConflict(f"zone {name!r} is disabled; enable it first")
        return target

    def _observe_new(
        self, target: Zone, row: FileRow, *, by: str, reindex: bool = False
    ) -> list[int]:
        """Record the object back under ``row``'s key in incoming/; the new ledger ids."""
        before = {r.id for r in self.ledger.by_key(row.display_key, row.zone)}
        pipeline = resolve_pipeline(target.settings.pipeline)
        observe(
            self.sm,
            self.ledger,
            target,
            pipeline,
            row.key,
            by=by,
            require_quiet=False,
            reindex=reindex,
        )
        after = [r.id for r in self.ledger.by_key(row.display_key, row.zone)]
        return [i for i in after if i not in before]

    def _audit(self, actor: Actor, action: str, row: FileRow, new_ids: list[int]) -> None:
        """One audit event per file (after its move: an object store is not transactional)."""
        from tidyllm.access.audit import record

        detail = {"zone": row.zone, "key": row.display_key, "new_file_ids": new_ids}
        with self.sm.connection() as conn:
            record(conn, actor, action, f"file:{row.id}", detail)

    # -- re-index -------------------------------------------------------------------------------
    def reprocess(self, file_id: int) -> list[int]:
        """Copy a processed file back to incoming/ as a re-index: a worker runs the zone's
        pipeline on it again although its result stands (``files.reindex``), and the
        processed/ copy stays until then. Returns the new ledger ids."""
        row = self.get(file_id)
        if row.location != "processed" or not row.dest_key or row.kind != "file":
            raise FileStateConflict(
                f"file #{row.id} is {row.state} in {row.location}/; only a processed file "
                "can be processed again"
            )
        target = self._enabled(row.zone)
        try:
            target.store.copy(row.dest_key, INCOMING + row.key, if_absent=True)
        except ObjectExists:
            raise FileStateConflict(
                f"{row.display_key!r} is already waiting in zone {row.zone!r}; "
                "try again when it is processed"
            ) from None
        except ObjectNotFound:
            raise FileStateConflict(
                f"the processed copy of file #{row.id} is gone; drop the file again"
            ) from None
        return self._observe_new(target, row, by="reindex", reindex=True)
