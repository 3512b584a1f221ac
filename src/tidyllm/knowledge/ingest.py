"""Bulk ingestion of folders and S3 prefixes into a domain, and ``sync`` of vanished sources.

``ingest`` goes through the drop-zone ledger (docs/dropzones.md), so a bulk load
has the engine's guarantees: exactly once per (zone, content, pipeline version),
duplicates recorded, leases, resumability, MLflow batch runs. Each domain has an
implicit zone ``ingest-<domain>`` with the ``index`` pipeline, in the object store:
``s3://<bucket>/<prefix>/ingest/<domain>/`` when ``object_store.bucket`` is set, else the
local folder ``DATA/ingest/<domain>`` (:func:`tidyllm.dropzones.api.ingest_zone_settings`);
a settings-file zone of that name wins. Everything here goes through the zone's store.

Per run: every source file is streamed into the zone's ``incoming/`` under a key
that mirrors where it came from (``file/<absolute path>`` or ``s3/<bucket>/<key>``,
so two folders holding ``README.md`` never collide and a changed file is a new
version of the same key), then the zone is drained by a worker. The sources are
only read, never moved or deleted: the copy is what flows to processed/ or failed/.
A rerun makes every unchanged file a ``duplicate``; a run interrupted after copying
is finished by the next run or by any ``tidyllm worker``.

OCR is a property of the domain (``domains.ocr``, set by
:func:`~tidyllm.knowledge.domains.set_domain_ocr`): the ingest zone carries it to the
``extract`` step, so scanned files go through the same ledger. ``ingest(..., ocr=True)``
or ``ocr=False`` sets the flag (sticky) before copying; ``ocr=None`` keeps it.

``sync_domain`` checks each document's source still exists and removes the documents
whose source is gone: for ingested copies the original file or object; for files that
arrived through a drop zone their processed/ copy (never the incoming/ object, which is
always gone after processing). Removing more than half of a domain needs consent.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from psycopg.types.json import Jsonb

from tidyllm.access.actor import Actor
from tidyllm.errors import (
    DropZoneError,
    InvalidKey,
    KnowledgeError,
    ObjectNotFound,
    ObjectStoreError,
)
from tidyllm.knowledge.domains import get_domain, set_domain_ocr
from tidyllm.knowledge.sidecars import is_metadata_file
from tidyllm.redaction import redact

log = logging.getLogger(__name__)

LOCAL_PREFIX = "file/"
S3_PREFIX = "s3/"
#: Outcomes that end a file's processing (``retry``, ``busy`` and ``lost`` do not).
FINAL_STATES = frozenset({"done", "duplicate", "failed", "dead", "vanished", "superseded"})


@dataclass(frozen=True)
class IngestItem:
    """The outcome for one source file.

    ``state`` is the ledger's: ``done`` (indexed), ``duplicate`` (this content was
    already processed; nothing re-indexed), ``failed``/``dead`` (``code``, ``error``
    and ``hint`` say why), ``vanished``/``superseded``; ``failed`` with ``file_id``
    None means the file could not even be copied into the zone; ``waiting`` means
    an older copy under its name was still held by another worker (run again).
    """

    source_uri: str
    state: str
    file_id: int | None = None
    chunks: int = 0
    error: str | None = None
    code: str | None = None
    hint: str | None = None


@dataclass
class IngestReport:
    """Every file's outcome, in the order they finished."""

    domain: str
    zone: str
    items: list[IngestItem] = field(default_factory=list)
    ocr: bool = False  # the domain's OCR flag this run used
    mlflow_runs: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def count(self, state: str) -> int:
        return sum(1 for item in self.items if item.state == state)

    def counts(self) -> dict[str, int]:
        """Files per state (only the states that occurred)."""
        out: dict[str, int] = {}
        for item in self.items:
            out[item.state] = out.get(item.state, 0) + 1
        return out

    @property
    def failures(self) -> list[IngestItem]:
        return [i for i in self.items if i.state in ("failed", "dead")]

    @property
    def chunks(self) -> int:
        return sum(item.chunks for item in self.items if item.state == "done")


@dataclass(frozen=True)
class SourceFile:
    """One file to ingest: its URI, its key in the ingest zone, and how to read it."""

    uri: str
    key: str
    open: Callable[[], AbstractContextManager[BinaryIO]]


@dataclass(frozen=True)
class SyncReport:
    """What ``sync_domain`` did: removed documents, kept ones, and ones it could not check."""

    removed: list[str]
    kept: int
    unchecked: list[str]
    # issue 13: further names of documents whose file is gone (the documents stay)
    names_removed: list[str] = field(default_factory=list)


def _local_files(root: Path) -> Iterator[SourceFile]:
    if root.is_file():
        paths = [root]
    elif root.is_dir():
        paths = sorted(
            p
            for p in root.rglob("*")
            if p.is_file()
            and not p.is_symlink()
            and not is_metadata_file(p.name)  # issue 13: sidecars are read with their file
            and not any(part.startswith(".") for part in p.relative_to(root).parts)
        )
    else:
        raise KnowledgeError(f"source {str(root)!r} is neither a file nor a folder")
    for path in paths:
        resolved = path.resolve()
        yield SourceFile(
            resolved.as_uri(),
            LOCAL_PREFIX + resolved.as_posix().lstrip("/"),
            lambda p=resolved: p.open("rb"),
        )


def _s3_location(location: str) -> tuple[str, str]:
    bucket, _, prefix = location[len("s3://") :].partition("/")
    if not bucket:
        raise KnowledgeError(f"source {location!r} names no bucket")
    return bucket, prefix


def _s3_files(sm: Any, location: str) -> Iterator[SourceFile]:
    bucket, prefix = _s3_location(location)
    store = sm.object_store_for(f"s3://{bucket}")
    for info in store.list(prefix):
        if info.key.endswith("/") or is_metadata_file(info.key):  # a folder; a sidecar
            continue
        yield SourceFile(
            f"s3://{bucket}/{info.key}",
            f"{S3_PREFIX}{bucket}/{info.key}",
            lambda k=info.key: store.get(k),
        )


def _check_source(source: object) -> str:
    if not isinstance(source, str) or not source.strip():
        raise KnowledgeError("a source must be a non-empty path or s3:// URI")
    if source.startswith("s3://"):
        _s3_location(source)
    elif "://" in source:
        raise KnowledgeError(f"unsupported source {source!r}: use a path or s3://bucket/prefix")
    else:
        path = Path(source).expanduser()
        if not (path.is_file() or path.is_dir()):
            raise KnowledgeError(f"source {source!r} is neither a file nor a folder")
        if path.is_file() and is_metadata_file(path.name):  # issue 13
            raise KnowledgeError(
                f"{source!r} is a metadata sidecar or manifest: it is read with the files it "
                "describes; ingest those files or their folder"
            )
    return source


def iter_sources(sm: Any, sources: Sequence[str]) -> Iterator[SourceFile]:
    """Every file named by ``sources`` (files, folders, ``s3://bucket/prefix``), in order.

    All sources are checked when this is called, before the first file is yielded,
    so a typo in the last one does not leave a half-copied load behind.
    """
    if isinstance(sources, str) or not isinstance(sources, Sequence):
        raise KnowledgeError("sources must be a list of paths or s3:// URIs")
    checked = [_check_source(source) for source in sources]
    return _walk(sm, checked)


def _walk(sm: Any, checked: list[str]) -> Iterator[SourceFile]:
    for source in checked:
        if source.startswith("s3://"):
            yield from _s3_files(sm, source)
        else:
            yield from _local_files(Path(source).expanduser())


def original_uri(key: str) -> str | None:
    """The source URI an ingest-zone key was copied from (None for a key ingest did not make)."""
    if key.startswith(LOCAL_PREFIX):
        return Path("/" + key[len(LOCAL_PREFIX) :]).as_uri()
    if key.startswith(S3_PREFIX):
        return "s3://" + key[len(S3_PREFIX) :]
    return None


def ingest(
    sm: Any,
    domain: str,
    sources: Sequence[str],
    *,
    progress: Callable[[IngestItem], None] | None = None,
    ocr: bool | None = None,
    track: bool = True,
    concurrency: int = 1,
    reindex: bool = False,
    actor: Actor | None = None,
) -> IngestReport:
    """Index every file under ``sources`` into ``domain`` through its ingest zone.

    ``progress`` is called once per file as it ends (and for files that could not
    be copied). ``track`` records MLflow batch runs; ``concurrency`` is the
    worker's thread count. ``ocr`` sets the domain's OCR flag before anything is
    copied (``True``: read scanned pages with OCR, needs the OCR extra; ``False``:
    no OCR); it is sticky, the next ingests and every worker use it. ``None`` keeps
    the domain's current setting. The domain, the sources and the OCR extra are all
    checked before the flag changes or a file is copied.

    A file whose content is already indexed in the domain is a ``duplicate`` (nothing is
    written); content that was indexed once but is no longer (the domain was deleted and
    created again, the document deleted or synced away) is indexed again. ``reindex=True``
    indexes every file again even when its content is there (new chunks and embeddings
    replace the old ones in one transaction; the same bytes under a second name stay a
    duplicate). ``actor`` (None: the operator) needs the editor role in the domain.
    """
    from tidyllm.dropzones.api import UnifiedDropZones, ingest_zone_name, ingest_zone_settings

    if ocr is not None and not isinstance(ocr, bool):
        raise KnowledgeError(f"ocr must be True, False or None, got {ocr!r}")
    if not isinstance(reindex, bool):
        raise KnowledgeError(f"reindex must be True or False, got {reindex!r}")
    with sm.connection() as conn:
        # an unknown (or not granted) domain fails before anything is copied
        get_domain(conn, domain, actor=actor, need="editor")
    ingest_zone_name(domain)  # a domain name too long for a zone name fails here
    if ocr:
        from tidyllm.extraction import ocr_available

        if not ocr_available():
            raise KnowledgeError(
                "OCR was requested but the OCR extra is not installed "
                "(pip install 'tidyllm[ocr]'); the domain's OCR setting is unchanged"
            )
    files = iter_sources(sm, sources)  # every source is checked here, before any change
    if ocr is not None:
        set_domain_ocr(sm, domain, ocr, actor=actor)
    dz = UnifiedDropZones(sm)
    zone = dz.find_zone(ingest_zone_name(domain))  # a settings-file zone of that name wins
    settings = zone.settings if zone is not None else ingest_zone_settings(sm, domain)
    if zone is not None and zone.local_root is not None:
        # the folder is what makes a local implicit zone known to `zones list` and workers
        (zone.local_root / "incoming").mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    report = IngestReport(domain, settings.name, ocr=settings.ocr)
    lock = threading.Lock()  # with concurrency > 1, outcomes arrive from several threads

    def record(item: IngestItem) -> None:
        with lock:
            report.items.append(item)
            if progress is not None:
                progress(item)

    def on_outcome(outcome: Any) -> None:
        if outcome.state == "duplicate":  # issue 13: content unchanged, its sidecar may not be
            _refresh_sidecar(dz, domain, outcome)
        if outcome.state in FINAL_STATES:
            record(_item(dz, outcome))

    waiting = _copy_in(dz, settings.name, files, record, reindex)
    options = {"once": True, "on_outcome": on_outcome, "track": track, "watch": False}
    summary = dz.run_worker([settings.name], concurrency=concurrency, **options)
    report.mlflow_runs += summary.mlflow_runs
    # An interrupted run left copies under some of these names; they are processed now.
    # A source whose bytes differ from its processed copy follows as a new version.
    changed = [f for f in waiting if not _processed_same(dz, settings.name, f)]
    if changed:
        for source in _copy_in(dz, settings.name, iter(changed), record, reindex):
            record(
                IngestItem(
                    source.uri,
                    "waiting",
                    error="an earlier copy under the same name is still being processed",
                    hint="Another worker holds it; run the ingest again when it is done.",
                )
            )
        summary = dz.run_worker([settings.name], concurrency=concurrency, **options)
        report.mlflow_runs += summary.mlflow_runs
    report.seconds = time.perf_counter() - started
    return report


def _copy_in(
    dz: Any,
    zone: str,
    files: Iterator[SourceFile],
    record: Callable[[IngestItem], None],
    reindex: bool = False,
) -> list[SourceFile]:
    """Stream each file into incoming/; return those whose name is still waiting there."""
    waiting = []
    for source in files:
        try:
            with source.open() as data:
                dz.drop_data(data, zone=zone, name=source.key, reindex=reindex)
        except InvalidKey as exc:
            record(
                IngestItem(
                    source.uri,
                    "failed",
                    error=str(exc),
                    code="invalid_name",
                    hint="Rename the file (no control characters, backslashes or '..').",
                )
            )
        except DropZoneError:  # the same name is still waiting from an interrupted run
            waiting.append(source)
        except (ObjectNotFound, OSError) as exc:
            record(
                IngestItem(
                    source.uri,
                    "failed",
                    error=f"cannot read the source: {exc}",
                    code="unreadable",
                    hint="Check the file exists and is readable, then run the ingest again.",
                )
            )
    return waiting


def _refresh_sidecar(dz: Any, domain: str, outcome: Any) -> None:
    from tidyllm.knowledge.ingest_metadata import refresh_sidecar

    try:  # never the reason an ingest fails: refresh_sidecar logs its own problems
        row = dz.ledger.get(outcome.file_id)
        zone = dz.find_zone(outcome.zone) if row is not None else None
        if zone is not None:
            refresh_sidecar(dz.sm, domain=domain, zone=zone, key=row.key)
    except Exception as exc:
        log.warning("sidecar of file #%s not refreshed: %s", outcome.file_id, redact(exc))


def _processed_same(dz: Any, zone: str, source: SourceFile) -> bool:
    """True when the newest ledger row for the source's key holds exactly its bytes."""
    rows = [r for r in dz.ledger.by_key(source.key, zone) if r.sha256]
    if not rows:
        return False
    newest = max(rows, key=lambda r: r.id)
    digest = hashlib.sha256()
    try:
        with source.open() as data:
            for block in iter(lambda: data.read(1 << 20), b""):
                digest.update(block)
    except (ObjectStoreError, OSError):
        return False  # the copy attempt reports why
    return digest.hexdigest() == newest.sha256


def _item(dz: Any, outcome: Any) -> IngestItem:
    row = dz.ledger.get(outcome.file_id)
    key = row.key if row is not None else ""
    error = outcome.error or (row.error if row is not None else None) or {}
    chunks = 0
    if outcome.state == "done" and row is not None:
        index = ((row.result or {}).get("steps") or {}).get("index") or {}
        chunks = int(index.get("chunks") or 0)
    return IngestItem(
        original_uri(key) or key,
        outcome.state,
        outcome.file_id,
        chunks,
        error=error.get("message"),
        code=error.get("code"),
        hint=error.get("hint") or None,
    )


def _documents(sm: Any, domain: str) -> list[tuple[str, str, dict]]:
    """(source_uri, version, metadata) of every document in ``domain``, by source URI."""
    with sm.connection() as conn:
        dom = get_domain(conn, domain)
        rows = conn.execute(
            "SELECT source_uri, version, metadata FROM documents WHERE domain_id = %s "
            "ORDER BY source_uri",
            (dom.id,),
        ).fetchall()
    return [(uri, version, metadata or {}) for uri, version, metadata in rows]


def source_exists(sm: Any, uri: str) -> bool | None:
    """Whether the source behind ``uri`` still exists; None when its scheme cannot be checked."""
    if uri.startswith("s3://"):
        bucket, _, key = uri[len("s3://") :].partition("/")
        return bool(sm.object_store_for(f"s3://{bucket}").exists(key))
    parsed = urllib.parse.urlparse(uri)
    if parsed.scheme == "file":
        return Path(urllib.request.url2pathname(parsed.path)).exists()
    return None


def _incoming_prefix(store: Any) -> str:
    """The URI prefix of every object under ``store``'s incoming/ (``.../incoming/``)."""
    from tidyllm.dropzones.zone import INCOMING

    return store.uri(INCOMING + "x")[:-1]


def _ingest_copies(sm: Any, domain: str, zone: Any = None) -> Callable[[str], str | None]:
    """Maps the URI of a copy in ``domain``'s ingest zone to its original's URI.

    Copies under the zone in use (``zone``, a settings-file zone, else the implicit one)
    and under both implicit layouts (the local ``DATA/ingest/<domain>/`` and, with a
    bucket, ``s3://<bucket>/<prefix>/ingest/<domain>/``) are recognized, so documents
    ingested before ``object_store`` changed still find their originals.
    """
    from tidyllm.dropzones.api import INGEST_FOLDER, ingest_zone_source

    local = Path(sm.settings.data_dir, INGEST_FOLDER, domain).expanduser().resolve()
    found = [(local / "incoming").as_uri() + "/"]  # what LocalObjectStore.uri gives
    implicit = ingest_zone_source(sm, domain)
    if implicit.startswith("s3://"):
        found.append(_incoming_prefix(sm.object_store_for(implicit)))
    if zone is not None:
        found.insert(0, _incoming_prefix(zone.store))
    # file:// URIs are percent-encoded; s3:// ones carry the key as it is
    prefixes = [(prefix, prefix.startswith("file:")) for prefix in dict.fromkeys(found)]

    def original(uri: str) -> str | None:
        for prefix, quoted in prefixes:
            if uri.startswith(prefix):
                key = uri[len(prefix) :]
                return original_uri(urllib.parse.unquote(key) if quoted else key)
        return None

    return original


class _Sources:
    """Where each document of a domain came from, and whether that is still there.

    A document the ``index`` step made names its ledger row (``version`` is the row id,
    ``metadata`` holds the zone and key), and its ``source_uri`` is the zone's incoming/
    copy, which is always gone once processed. So:

    * a copy ``ingest`` made (``ingest-<domain>`` zone, key ``file/...`` or ``s3/...``) is
      judged by its original file or object;
    * a file that arrived by drop is governed by its zone: by its processed/ copy;
    * a zone no longer declared, or a row not finished, cannot be checked: kept;
    * any other document (indexed by ``index_document`` directly) by its own URI.
    """

    def __init__(self, sm: Any, domain: str) -> None:
        from tidyllm.dropzones.api import UnifiedDropZones, ingest_zone_settings

        self.sm = sm
        dz = UnifiedDropZones(sm)
        self.ledger = dz.ledger
        self.settings = {z.name: z for z in dz.declared()}
        implicit = ingest_zone_settings(sm, domain)
        self.settings.setdefault(implicit.name, implicit)
        self.zones: dict[str, Any] = {}
        self.original = _ingest_copies(sm, domain, self._zone(implicit.name))

    def _zone(self, name: str) -> Any:
        from tidyllm.dropzones.zone import Zone

        if name not in self.zones:
            settings = self.settings.get(name)
            store = None if settings is None else self.sm.object_store_for(settings.source)
            self.zones[name] = None if settings is None else Zone(settings, store)
        return self.zones[name]

    def check(self, uri: str, version: str, metadata: dict) -> tuple[str, bool | None]:
        """(what to show, whether it exists: None when it cannot be checked)."""
        from tidyllm.dropzones.api import INGEST_ZONE_PREFIX
        from tidyllm.dropzones.zone import INCOMING

        row = None
        if isinstance(metadata.get("zone"), str) and version.isdigit():
            row = self.ledger.get(int(version))
        if row is not None and row.zone == metadata["zone"]:
            zone = self._zone(row.zone)
            if zone is None:
                return uri, None  # its zone is no longer declared
            if zone.store.uri(INCOMING + row.key) == uri:
                origin = original_uri(row.key) if row.zone.startswith(INGEST_ZONE_PREFIX) else None
                if origin is not None:
                    return origin, source_exists(self.sm, origin)
                if row.location == "processed" and row.dest_key:
                    return zone.store.uri(row.dest_key), bool(zone.store.exists(row.dest_key))
                return uri, None  # still being moved: not for sync to judge
        shown = self.original(uri) or uri
        return shown, source_exists(self.sm, shown)


def sync_domain(
    sm: Any,
    domain: str,
    *,
    dry_run: bool = False,
    yes: bool = False,
    confirm: Callable[[SyncReport], bool] | None = None,
    actor: Actor | None = None,
) -> SyncReport:
    """Remove the documents of ``domain`` whose source is gone; ``removed`` names the sources.

    A document ``ingest`` copied in goes when its original file or object is gone; one
    that arrived through a drop zone goes only when its processed/ copy is gone (the
    zone governs it; its incoming/ object is always gone after processing); one that
    cannot be checked is kept and listed in ``unchecked``. ``dry_run`` removes nothing
    and reports what would go.

    A document's further names (the same bytes, DOI or arXiv id under another name; see
    :mod:`tidyllm.knowledge.dedup`) are judged the same way: a name whose file is gone is
    dropped (``names_removed``), and a document whose own file is gone but whose bytes are
    still there under another name keeps that name as its primary one instead of going.

    A sync that would remove more than half of the domain's documents needs consent:
    ``yes=True``, or ``confirm(plan)`` returning True (``plan`` is the dry-run report).
    Without either it raises :class:`KnowledgeError` and removes nothing. ``actor``
    (None: the operator) needs the editor role in the domain.
    """
    with sm.connection() as conn:
        get_domain(conn, domain, actor=actor, need="editor")
    removed: list[str] = []
    doomed: list[str] = []
    unchecked: list[str] = []
    kept = 0
    sources = _Sources(sm, domain)
    documents = _documents(sm, domain)
    names = _further_names(sm, domain)  # issue 13: a document's other names
    promote: list[tuple[str, tuple]] = []  # (primary uri, the name that takes its place)
    dropped: list[tuple[str, str]] = []  # (document's primary uri, further name)
    names_removed: list[str] = []
    for uri, version, metadata in documents:
        shown, exists = sources.check(uri, version, metadata)
        living = None
        for name in names.get(uri, []):
            name_shown, name_exists = sources.check(name[0], name[1], name[2])
            if name_exists is False:
                names_removed.append(name_shown)
                dropped.append((uri, name[0]))
            elif living is None and name[3]:  # the same bytes: may stand for the document
                living = name
        if exists is None:
            unchecked.append(shown)
        elif exists:
            kept += 1
        elif living is not None:  # the file is gone, the same bytes under another name not
            kept += 1
            promote.append((uri, living))
        else:
            removed.append(shown)
            doomed.append(uri)
    report = SyncReport(removed, kept, unchecked, names_removed)
    if dry_run or not (doomed or promote or dropped):
        return report
    if len(doomed) * 2 > len(documents) and not yes:
        count = f"{len(doomed)} of {len(documents)} documents"
        if confirm is None:
            raise KnowledgeError(
                f"sync would remove {count} of domain {domain!r}, more than half; nothing "
                f"was removed. See the list with `tidyllm domains sync {domain} --dry-run`; "
                f"to remove them, run `tidyllm domains sync {domain} --yes`"
            )
        if not confirm(report):
            raise KnowledgeError(
                f"sync of domain {domain!r} cancelled ({count} would go); nothing was removed"
            )
    with sm.connection() as conn:
        dom = get_domain(conn, domain)
        for uri, name in dropped:
            conn.execute(
                "DELETE FROM document_sources WHERE domain_id = %s AND source_uri = %s "
                "AND document_id = (SELECT id FROM documents WHERE domain_id = %s "
                "AND source_uri = %s)",
                (dom.id, name, dom.id, uri),
            )
        for uri, name in promote:
            _promote(conn, dom.id, uri, name)
        conn.execute(
            "DELETE FROM documents WHERE domain_id = %s AND source_uri = ANY(%s)",
            (dom.id, doomed),
        )
    return report


def _further_names(sm: Any, domain: str) -> dict[str, list[tuple]]:
    """Each document's further names (issue 13), by the document's primary source URI:
    (uri, version, metadata, whether it holds the document's current bytes)."""
    out: dict[str, list[tuple]] = {}
    with sm.connection() as conn:
        rows = conn.execute(
            "SELECT d.source_uri, s.source_uri, s.version, s.metadata, "
            "s.reason = 'content' AND s.content_hash = d.content_hash "
            "FROM document_sources s JOIN documents d ON d.id = s.document_id "
            "JOIN domains m ON m.id = d.domain_id WHERE m.name = %s ORDER BY s.added_at",
            (domain,),
        )
        for primary, *name in rows:
            out.setdefault(primary, []).append(tuple(name))
    return out


def _promote(conn: Any, domain_id: int, uri: str, name: tuple) -> None:
    """The further name ``name`` (same bytes) becomes the primary name of the document at
    ``uri``, whose own file is gone: citations and originals then point at a file that is
    there. Under the source lock of the old name, as index_document takes it."""
    conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, %s))", (uri, domain_id))
    conn.execute(
        "DELETE FROM document_sources WHERE domain_id = %s AND source_uri = %s",
        (domain_id, name[0]),
    )
    conn.execute(
        "UPDATE documents SET source_uri = %s, version = %s, metadata = %s "
        "WHERE domain_id = %s AND source_uri = %s",
        (name[0], name[1], Jsonb(name[2]), domain_id, uri),
    )
    conn.execute(
        "UPDATE chunks SET metadata = %s WHERE document_id = "
        "(SELECT id FROM documents WHERE domain_id = %s AND source_uri = %s)",
        (Jsonb(name[2]), domain_id, name[0]),
    )
