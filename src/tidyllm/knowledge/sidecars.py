"""Sidecars and folder manifests: metadata a person puts next to a file (issue 13).

Two forms, read when the file is indexed, from the folder the file was taken from:

* ``NAME.meta.json`` next to ``NAME`` (``report.pdf.meta.json``; ``report.meta.json`` is
  accepted too): one JSON object with any of the fields of
  :mod:`tidyllm.knowledge.metadata` (``title``, ``authors``, ``year``, ``date``, ``doi``,
  ``arxiv_id``, ``isbn``, ``url``, ``abstract``, ``tags``, ``notes``, ``fields``) plus
  ``collections`` (a list of collection names in the document's domain). Any other key
  with a simple value becomes a free field.
* ``metadata.jsonl`` or ``metadata.csv`` in the folder: one row per file, named by its
  ``file`` (or ``filename``) column, a bare file name of that folder. In CSV, ``authors``,
  ``tags`` and ``collections`` are separated by ``;`` and unknown columns are free fields.

A row of the manifest is applied first, the file's own sidecar over it, field by field.

Sidecars and manifests are not documents: ``tidyllm ingest`` does not copy them and a
drop zone's detection never records them (:func:`is_metadata_file`). They stay where they
are (the source folder; a zone's ``incoming/`` folder) as the folder's description, and
apply to every later version of the same file name; what was applied is in the ``index``
step's result (the ledger row and the file's ``report.json``).

Hostile input never stops the document: a sidecar that is not JSON, not an object, too
large, a symlink, or a manifest row naming a path outside its folder, is a warning
(logged and returned) and is skipped; values are bounded by the metadata module.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import logging
import os
import stat
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Protocol

from tidyllm.errors import ObjectNotFound, ObjectStoreError
from tidyllm.knowledge.metadata import (
    FIELDS,
    FREE_KEY,
    MAX_AUTHORS,
    MAX_TAGS,
    MAX_TEXT,
    MetadataError,
    clean_text,
    normalise,
)

log = logging.getLogger(__name__)

SIDECAR_SUFFIX = ".meta.json"
MANIFESTS = ("metadata.jsonl", "metadata.csv")
MAX_SIDECAR_BYTES = 16 * 1024 * 1024
MAX_MANIFEST_BYTES = 64 * 1024 * 1024
MAX_COLLECTIONS = 50
MAX_WARNINGS = 20
_NAME_COLUMNS = ("file", "filename")
_LIST_SEPARATOR = ";"
_CACHE_SIZE = 8


class SidecarRefused(Exception):
    """A sidecar that exists but is not read (a symlink, not a file, too large)."""


class Folder(Protocol):
    """Where a file was taken from, for reading the files beside it."""

    label: str

    def read(self, name: str, limit: int) -> bytes | None:
        """The bytes of ``name`` in this folder; None if absent; SidecarRefused if refused."""
        ...

    def fingerprint(self, name: str) -> str | None:
        """Something that changes when ``name`` changes (None if absent)."""
        ...


@dataclass(frozen=True)
class LocalFolder:
    """A folder on the local disk (``tidyllm ingest`` of a path); symlinks are never followed."""

    path: Path

    @property
    def label(self) -> str:
        return str(self.path)

    def _open(self, name: str) -> tuple[int, os.stat_result] | None:
        try:
            fd = os.open(self.path / name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except FileNotFoundError:
            return None
        except OSError as exc:  # ELOOP: the name is a symlink
            raise SidecarRefused(f"{name} is not read: it is a symlink or unreadable") from exc
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            os.close(fd)
            raise SidecarRefused(f"{name} is not read: it is not a regular file")
        return fd, st

    def read(self, name: str, limit: int) -> bytes | None:
        opened = self._open(name)
        if opened is None:
            return None
        fd, st = opened
        with os.fdopen(fd, "rb") as handle:
            if st.st_size > limit:
                raise SidecarRefused(f"{name} is not read: {st.st_size} bytes, at most {limit}")
            return handle.read(limit + 1)[: limit + 1]

    def fingerprint(self, name: str) -> str | None:
        try:
            st = os.lstat(self.path / name)
        except OSError:
            return None
        return f"{st.st_ino}:{st.st_size}:{st.st_mtime_ns}"


@dataclass(frozen=True)
class StoreFolder:
    """A folder of an object store (a drop zone's incoming/ folder, an S3 source prefix)."""

    store: Any
    prefix: str  # "" or ending in "/"

    @property
    def label(self) -> str:
        return str(self.store.uri(self.prefix + "x"))[:-1]  # a folder is not a valid key

    def read(self, name: str, limit: int) -> bytes | None:
        key = self.prefix + name
        try:
            info = self.store.head(key)
            if info.size > limit:
                raise SidecarRefused(f"{name} is not read: {info.size} bytes, at most {limit}")
            with self.store.get(key) as stream:
                return stream.read(limit + 1)
        except ObjectNotFound:
            return None
        except ObjectStoreError as exc:  # the local store refuses symlinks
            raise SidecarRefused(f"{name} is not read: {exc}") from exc

    def fingerprint(self, name: str) -> str | None:
        try:
            info = self.store.head(self.prefix + name)
        except (ObjectNotFound, ObjectStoreError):
            return None
        return f"{info.etag}:{info.size}:{info.modified.timestamp()}"


@dataclass
class Sidecar:
    """What the sidecar layer holds for one file, its collections, and what went wrong."""

    values: dict[str, Any] = field(default_factory=dict)
    collections: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)  # the files read (for the report)
    warnings: list[str] = field(default_factory=list)

    def warn(self, message: str) -> None:
        if len(self.warnings) < MAX_WARNINGS and message not in self.warnings:
            self.warnings.append(message)


def is_metadata_file(key: str) -> bool:
    """True for sidecars and manifests (``*.meta.json``, ``metadata.csv``/``.jsonl``)."""
    name = key.rsplit("/", 1)[-1]
    return name.lower().endswith(SIDECAR_SUFFIX) or name in MANIFESTS


def sidecar_names(name: str) -> list[str]:
    """The sidecar names looked for beside ``name`` (``x.pdf.meta.json``, ``x.meta.json``)."""
    names = [name + SIDECAR_SUFFIX]
    stem, dot, _ = name.rpartition(".")
    if dot and stem:
        names.append(stem + SIDECAR_SUFFIX)
    return names


def read_sidecar(folder: Folder | None, name: str) -> Sidecar:
    """The sidecar layer for file ``name`` of ``folder``: its manifest row, then its sidecar."""
    out = Sidecar()
    if folder is None:
        return out
    for manifest in MANIFESTS:
        try:
            rows, problems = _manifest(folder, manifest)
        except SidecarRefused as exc:
            out.warn(str(exc))
            continue
        for problem in problems:
            out.warn(problem)
        if rows is not None and name in rows:
            out.sources.append(manifest)
            _apply(out, rows[name], f"{manifest} row {name!r}")
    for candidate in sidecar_names(name):
        try:
            data = folder.read(candidate, MAX_SIDECAR_BYTES)
        except SidecarRefused as exc:
            out.warn(str(exc))
            continue
        if data is None:
            continue
        out.sources.append(candidate)
        try:
            parsed = json.loads(data.decode("utf-8-sig"))
        except (UnicodeDecodeError, ValueError) as exc:
            out.warn(f"{candidate} is not read: not valid JSON ({exc.__class__.__name__})")
            break
        if not isinstance(parsed, dict):
            out.warn(f"{candidate} is not read: a JSON object is expected, not a JSON list/value")
            break
        _apply(out, parsed, candidate)
        break  # the first sidecar found is the file's
    for message in out.warnings:
        log.warning("metadata for %s in %s: %s", name, folder.label, message)
    return out


def _apply(out: Sidecar, raw: dict[str, Any], origin: str) -> None:
    """Check each field on its own (one bad field does not lose the others); bound sizes."""
    free: dict[str, Any] = dict(out.values.get("fields") or {})
    for key, value in raw.items():
        if not isinstance(key, str):
            continue
        if key in _NAME_COLUMNS:
            continue
        if key == "collections":
            _collections(out, value, origin)
            continue
        if key == "fields":
            if isinstance(value, dict):
                for sub, item in value.items():
                    _free_field(out, free, sub, item, origin)
            else:
                out.warn(f"{origin}: 'fields' must be an object; ignored")
            continue
        if key not in FIELDS:
            _free_field(out, free, key, value, origin)
            continue
        _bound_warning(out, key, value, origin)
        try:
            out.values.update(normalise({key: value}))
        except MetadataError as exc:
            out.warn(f"{origin}: {exc}; the field is ignored")
    if free:
        out.values["fields"] = free


def _free_field(out: Sidecar, free: dict[str, Any], key: Any, value: Any, origin: str) -> None:
    try:
        checked = normalise({"fields": {key: value}})["fields"]
    except MetadataError as exc:
        out.warn(f"{origin}: {exc}; ignored")
        return
    if len(free) >= 100:
        out.warn(f"{origin}: more than 100 free fields; the rest are ignored")
        return
    free.update(checked)


def _bound_warning(out: Sidecar, key: str, value: Any, origin: str) -> None:
    if isinstance(value, str) and key in MAX_TEXT and len(value) > MAX_TEXT[key]:
        out.warn(f"{origin}: {key} has {len(value)} characters; cut to {MAX_TEXT[key]}")
    limit = {"authors": MAX_AUTHORS, "tags": MAX_TAGS}.get(key)
    if limit and isinstance(value, list) and len(value) > limit:
        out.warn(f"{origin}: {key} has {len(value)} items; the first {limit} are kept")


def _collections(out: Sidecar, value: Any, origin: str) -> None:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        out.warn(f"{origin}: 'collections' must be a list of names; ignored")
        return
    for item in value:
        if not isinstance(item, str) or not clean_text(item, 200):
            out.warn(f"{origin}: a collection name must be text; {item!r:.40} ignored")
            continue
        name = clean_text(item, 200)
        if name not in out.collections:
            if len(out.collections) >= MAX_COLLECTIONS:
                out.warn(f"{origin}: more than {MAX_COLLECTIONS} collections; the rest ignored")
                return
            out.collections.append(name)


# -- manifests ------------------------------------------------------------------------------------

_cache: OrderedDict[tuple[str, str, str], tuple[dict[str, dict] | None, list[str]]] = OrderedDict()
_cache_lock = threading.Lock()


def _manifest(folder: Folder, name: str) -> tuple[dict[str, dict] | None, list[str]]:
    """The rows of a folder's manifest by file name, and its problems (cached per version:
    a folder of 10,000 files reads its manifest once, not 10,000 times)."""
    fingerprint = folder.fingerprint(name)
    if fingerprint is None:
        return None, []
    key = (folder.label, name, fingerprint)
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    data = folder.read(name, MAX_MANIFEST_BYTES)
    parsed = (None, []) if data is None else _parse_manifest(name, data)
    with _cache_lock:
        _cache[key] = parsed
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return parsed


def _parse_manifest(name: str, data: bytes) -> tuple[dict[str, dict] | None, list[str]]:
    problems: list[str] = []
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None, [f"{name} is not read: not UTF-8 text"]
    try:
        raw_rows = _jsonl_rows(text) if name.endswith(".jsonl") else _csv_rows(text)
    except (ValueError, csv.Error) as exc:
        return None, [f"{name} is not read: {exc}"]
    rows: dict[str, dict] = {}
    for number, row in raw_rows:
        if not isinstance(row, dict):
            problems.append(f"{name} line {number}: a JSON object is expected; skipped")
            continue
        file_name = next((row[c] for c in _NAME_COLUMNS if isinstance(row.get(c), str)), None)
        if file_name is None:
            problems.append(f"{name} line {number}: no 'file' column; skipped")
            continue
        if not _inside(file_name):
            shown = clean_text(file_name, 80)
            problems.append(
                f"{name} line {number}: {shown!r} is not a file of this folder "
                "(a path or '..'); skipped"
            )
            continue
        rows[file_name] = row
    return rows, problems[:MAX_WARNINGS]


def _inside(file_name: str) -> bool:
    """A bare file name of the manifest's own folder: no path, no '..', no control chars."""
    if not file_name or "/" in file_name or "\\" in file_name or "\x00" in file_name:
        return False
    return file_name not in (".", "..") and PurePosixPath(file_name).name == file_name


def _jsonl_rows(text: str) -> list[tuple[int, Any]]:
    rows = []
    for number, line in enumerate(text.splitlines(), 1):
        if line.strip():
            try:
                rows.append((number, json.loads(line)))
            except ValueError:
                rows.append((number, None))
    return rows


def _csv_rows(text: str) -> list[tuple[int, Any]]:
    rows = []
    reader = csv.DictReader(io.StringIO(text, newline=""))
    for number, row in enumerate(reader, 2):
        clean: dict[str, Any] = {}
        for key, value in row.items():
            if not isinstance(key, str) or value is None or value == "":
                continue
            key = key.strip()
            if key in ("authors", "tags", "collections"):
                clean[key] = [v.strip() for v in value.split(_LIST_SEPARATOR) if v.strip()]
            elif key in FIELDS or key in _NAME_COLUMNS or FREE_KEY.match(key):
                clean[key] = value
        rows.append((number, clean))
    return rows


def clear_cache() -> None:
    """Forget parsed manifests (tests)."""
    with _cache_lock, contextlib.suppress(Exception):
        _cache.clear()
