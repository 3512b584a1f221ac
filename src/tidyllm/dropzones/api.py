"""``UnifiedDropZones``: the Python API the CLI calls, one method per command.

from tidyllm import UnifiedDropZones
drop_zones = UnifiedDropZones()            # settings from the session manager
drop_zones.drop("report.pdf", zone="finance")
drop_zones.run_worker(once=True)
drop_zones.status("finance")

Besides the zones the settings file declares, every folder ``DATA/ingest/<domain>/``
is an implicit local zone ``ingest-<domain>`` (pipeline ``index`` into that domain):
``tidyllm ingest`` copies bulk loads there, so any worker can finish an interrupted
one. See :func:`ingest_zone_settings`.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from tidyllm.dropzones.detect import observe
from tidyllm.dropzones.ledger import FileRow, Ledger
from tidyllm.dropzones.pipeline import resolve_pipeline
from tidyllm.dropzones.process import Outcome
from tidyllm.dropzones.worker import Worker, WorkerSummary
from tidyllm.dropzones.zone import INCOMING, UnknownZone, Zone
from tidyllm.errors import DropZoneError, ObjectExists
from tidyllm.objectstore.keys import validate_key
from tidyllm.settings.schema import ZoneSettings

INGEST_FOLDER = "ingest"
INGEST_ZONE_PREFIX = "ingest-"
OCR_PARSE_TIMEOUT = 600.0  # seconds a file may take to parse in an OCR ingest zone
_ZONE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")  # ZoneSettings.name's pattern


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


def _ingest_zone(sm: Any, name: str, domain: str, ocr: bool) -> ZoneSettings:
    source = Path(sm.settings.data_dir) / INGEST_FOLDER / domain
    # OCR takes ~20 s a page and an implicit zone has no setting to raise: allow ~30 pages
    timeout = OCR_PARSE_TIMEOUT if ocr else ZoneSettings.model_fields["parse_timeout"].default
    return ZoneSettings(
        name=name,
        source=str(source),
        pipeline="index",
        domain=domain,
        quiet_period=0.0,
        ocr=ocr,
        parse_timeout=timeout,
    )


def ingest_zone_settings(sm: Any, domain: str) -> ZoneSettings:
    """The implicit zone a bulk ``tidyllm ingest`` into ``domain`` goes through.

    A local zone under ``DATA/ingest/<domain>`` with the ``index`` pipeline, so a
    bulk load gets the ledger's guarantees (exactly once per content, resumable,
    duplicates recorded). ``quiet_period`` is 0: only ``ingest`` writes there, and
    it writes each file completely before recording it. ``ocr`` is the domain's
    flag (``domains.ocr``, read now: a :class:`Worker` keeps the settings it was
    built with). A domain that does not exist (deleted, or not created yet) gives
    ``ocr=False``; its files then fail in the ``index`` step with a clear error.
    """
    name = ingest_zone_name(domain)
    ocr = _ocr_flags(sm, [domain]).get(domain, False)
    return _ingest_zone(sm, name, domain, ocr)


def implicit_zones(sm: Any) -> list[ZoneSettings]:
    """The bulk-ingest zones that exist on this machine (``DATA/ingest/<domain>/``).

    The database is asked once for the domains' OCR flags, and only when such a
    folder exists.
    """
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
        """A :class:`Worker` for the named zones (default: every enabled zone)."""
        return Worker(self.sm, self.zones(zones), **options)

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
    def status(self, zone: str | None = None) -> dict[str, dict[str, Any]]:
        """Counts by state, oldest pending, recent throughput, per zone."""
        names = [zone] if zone else [z.name for z in self.declared()]
        if zone:
            self._open([zone], include_disabled=True)  # unknown zone -> clear error
        return {name: self.ledger.status(name) for name in names}

    def history(self, ref: str | int, *, zone: str | None = None) -> list[dict[str, Any]]:
        """The audit trail of a ledger id or of every version of a key."""
        rows = self._rows(ref, zone)
        events = self.ledger.events([r.id for r in rows])
        out = []
        for row in rows:
            out.append(
                {"file": row.as_dict(), "events": [e for e in events if e["file_id"] == row.id]}
            )
        return out

    def _rows(self, ref: str | int, zone: str | None) -> list[FileRow]:
        if isinstance(ref, int) or (isinstance(ref, str) and ref.isdigit()):
            row = self.ledger.get(int(ref))
            if row is not None:
                return [row]
            if isinstance(ref, int):
                raise DropZoneError(f"no file with ledger id {ref}")
        rows = self.ledger.by_key(str(ref), zone)
        if not rows:
            raise DropZoneError(f"no file named {str(ref)!r} in the ledger")
        return rows

    def get(self, file_id: int) -> FileRow:
        row = self.ledger.get(file_id)
        if row is None:
            raise DropZoneError(f"no file with ledger id {file_id}")
        return row

    # -- retry ----------------------------------------------------------------------------------
    def retry(
        self, ids: Sequence[int] | None = None, *, failed: bool = False, zone: str | None = None
    ) -> list[int]:
        """Move failed (or dead) files back to incoming/ to be processed again.

        Returns the ids of the new ledger rows. Files with unusable names or that
        were symlinks cannot be retried (there is nothing safe to move back).
        """
        rows = self.ledger.failed(zone) if failed else [self.get(i) for i in ids or ()]
        new_ids = []
        for row in rows:
            if row.state not in ("failed", "dead") or row.location != "failed":
                raise DropZoneError(f"file #{row.id} is {row.state}, not failed; nothing to retry")
            if row.kind != "file":
                raise DropZoneError(
                    f"file #{row.id} ({row.kind}) cannot be retried; rename and drop it again"
                )
            target = self._zone(row.zone)
            dest = INCOMING + row.key
            try:
                target.store.move(row.dest_key, dest, if_absent=True)
            except ObjectExists:
                raise DropZoneError(
                    f"cannot retry #{row.id}: a different file named {row.display_key!r} is "
                    "waiting in incoming/"
                ) from None
            target.store.delete(f"{row.dest_key}.error.json")
            self.ledger.mark_retried(row, None)
            before = set(r.id for r in self.ledger.by_key(row.display_key, row.zone))
            pipeline = resolve_pipeline(target.settings.pipeline)
            observe(
                self.sm, self.ledger, target, pipeline, row.key, by="retry", require_quiet=False
            )
            after = [r.id for r in self.ledger.by_key(row.display_key, row.zone)]
            new_ids += [i for i in after if i not in before]
        return new_ids
