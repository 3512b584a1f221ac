"""Bulk ingestion of folders and S3 prefixes into a domain, and ``sync`` of vanished sources.

``ingest`` walks its sources in a stable order and, per file: hashes it,
skips it when the domain already holds that content (so an interrupted bulk
load is simply run again and resumes where it stopped, without indexing
anything twice), extracts it in a limited child process, and calls
:func:`~tidyllm.knowledge.indexing.index_document`. A file that fails is
recorded with its reason and the load goes on.

Source URIs are ``file:///abs/path`` (local) and ``s3://bucket/key``;
``sync_domain`` checks each document's source still exists and removes the
documents (and their chunks) whose source is gone.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from tidyllm.errors import ExtractionError, KnowledgeError, ObjectNotFound
from tidyllm.knowledge.domains import get_domain
from tidyllm.knowledge.indexing import index_document

ItemStatus = Literal["added", "replaced", "unchanged", "failed"]


@dataclass(frozen=True)
class IngestItem:
    """The outcome for one file; ``code`` is the extraction error code when it failed."""

    source_uri: str
    status: ItemStatus
    chunks: int = 0
    error: str | None = None
    code: str | None = None


@dataclass
class IngestReport:
    """Every file's outcome, in the order processed."""

    domain: str
    items: list[IngestItem] = field(default_factory=list)
    seconds: float = 0.0

    def count(self, status: ItemStatus) -> int:
        return sum(1 for item in self.items if item.status == status)

    @property
    def chunks(self) -> int:
        return sum(item.chunks for item in self.items if item.status in ("added", "replaced"))


@dataclass(frozen=True)
class SourceFile:
    """One file to ingest: its URI, display name, and how to get it as a local file."""

    uri: str
    name: str
    relative: str
    local: Callable[[], Any]  # a context manager yielding a local Path


@dataclass(frozen=True)
class SyncReport:
    """What ``sync_domain`` did: removed documents, kept ones, and ones it could not check."""

    removed: list[str]
    kept: int
    unchecked: list[str]


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _local_files(root: Path) -> Iterator[SourceFile]:
    if root.is_file():
        paths = [root]
        base = root.parent
    elif root.is_dir():
        paths = sorted(
            p
            for p in root.rglob("*")
            if p.is_file()
            and not p.is_symlink()
            and not any(part.startswith(".") for part in p.relative_to(root).parts)
        )
        base = root
    else:
        raise KnowledgeError(f"source {str(root)!r} is neither a file nor a folder")
    for path in paths:
        resolved = path.resolve()

        @contextmanager
        def local(p: Path = resolved) -> Iterator[Path]:
            yield p

        yield SourceFile(resolved.as_uri(), path.name, str(path.relative_to(base)), local)


def _s3_files(sm: Any, location: str) -> Iterator[SourceFile]:
    bucket, _, prefix = location[len("s3://") :].partition("/")
    store = sm.object_store_for(f"s3://{bucket}")
    for info in store.list(prefix):
        key = info.key

        @contextmanager
        def local(k: str = key) -> Iterator[Path]:
            folder = Path(tempfile.mkdtemp(prefix="tidyllm-ingest-"))
            try:
                target = folder / "object"
                with store.get(k) as source, target.open("wb") as sink:
                    shutil.copyfileobj(source, sink, 1 << 20)
                yield target
            finally:
                shutil.rmtree(folder, ignore_errors=True)

        yield SourceFile(store.uri(key), key.rsplit("/", 1)[-1], key[len(prefix) :], local)


def iter_sources(sm: Any, sources: Sequence[str]) -> Iterator[SourceFile]:
    """Every file named by ``sources`` (files, folders, ``s3://bucket/prefix``), in order."""
    for source in sources:
        if not isinstance(source, str) or not source.strip():
            raise KnowledgeError("a source must be a non-empty path or s3:// URI")
        if source.startswith("s3://"):
            yield from _s3_files(sm, source)
        elif "://" in source:
            raise KnowledgeError(f"unsupported source {source!r}: use a path or s3://bucket/prefix")
        else:
            yield from _local_files(Path(source).expanduser())


def _known_hashes(sm: Any, domain: str) -> dict[str, str]:
    with sm.connection() as conn:
        dom = get_domain(conn, domain)
        rows = conn.execute(
            "SELECT source_uri, content_hash FROM documents WHERE domain_id = %s", (dom.id,)
        ).fetchall()
    return dict(rows)


def ingest(
    sm: Any,
    domain: str,
    sources: Sequence[str],
    *,
    progress: Callable[[IngestItem], None] | None = None,
    ocr: bool = False,
    extract: Callable[..., Any] | None = None,
) -> IngestReport:
    """Index every file under ``sources`` into ``domain``; unchanged content is skipped.

    ``progress`` is called after each file. ``ocr`` reads scanned pages with
    OCR (needs the OCR extra); without it a scan fails with ``no_text_layer``.
    ``extract`` defaults to :func:`tidyllm.extraction.extract_isolated` (a
    limited child process).
    """
    from tidyllm.extraction import ExtractLimits, extract_isolated, ocr_available

    if ocr and not ocr_available():
        raise KnowledgeError("OCR was requested but the OCR extra is not installed")
    if extract is None:
        limits = ExtractLimits(ocr=ocr)

        def extract(path: Path, *, filename: str) -> Any:
            return extract_isolated(path, filename=filename, limits=limits)

    started = time.perf_counter()
    report = IngestReport(domain)
    known = _known_hashes(sm, domain)
    for source in iter_sources(sm, sources):
        item = _ingest_one(sm, domain, source, known, extract)
        report.items.append(item)
        if progress is not None:
            progress(item)
    report.seconds = time.perf_counter() - started
    return report


def _ingest_one(
    sm: Any, domain: str, source: SourceFile, known: dict[str, str], extract: Callable[..., Any]
) -> IngestItem:
    try:
        with source.local() as path:
            digest = _sha256_file(path)
            if known.get(source.uri) == digest:
                return IngestItem(source.uri, "unchanged")
            document = extract(path, filename=source.name)
            result = index_document(
                sm,
                domain=domain,
                document=document,
                source_uri=source.uri,
                version=f"sha256:{digest[:16]}",
                content_hash=digest,
                title=document.title or source.name,
                metadata={"filename": source.name, "path": source.relative},
            )
    except ExtractionError as exc:
        return IngestItem(source.uri, "failed", error=str(exc), code=exc.code)
    except (KnowledgeError, ObjectNotFound, OSError) as exc:
        return IngestItem(source.uri, "failed", error=str(exc) or type(exc).__name__)
    known[source.uri] = digest
    return IngestItem(source.uri, result.status, result.chunks)


def source_exists(sm: Any, uri: str) -> bool | None:
    """Whether the source behind ``uri`` still exists; None when its scheme cannot be checked."""
    if uri.startswith("s3://"):
        bucket, _, key = uri[len("s3://") :].partition("/")
        return bool(sm.object_store_for(f"s3://{bucket}").exists(key))
    parsed = urllib.parse.urlparse(uri)
    if parsed.scheme == "file":
        return Path(urllib.request.url2pathname(parsed.path)).exists()
    return None


def sync_domain(sm: Any, domain: str, *, dry_run: bool = False) -> SyncReport:
    """Remove the documents of ``domain`` whose source file or object is gone."""
    removed: list[str] = []
    unchecked: list[str] = []
    kept = 0
    for uri in sorted(_known_hashes(sm, domain)):
        exists = source_exists(sm, uri)
        if exists is None:
            unchecked.append(uri)
        elif exists:
            kept += 1
        else:
            removed.append(uri)
    if removed and not dry_run:
        with sm.connection() as conn:
            dom = get_domain(conn, domain)
            conn.execute(
                "DELETE FROM documents WHERE domain_id = %s AND source_uri = ANY(%s)",
                (dom.id, removed),
            )
    return SyncReport(removed, kept, unchecked)
