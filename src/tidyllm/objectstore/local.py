"""A folder on the local file system as an object store (the embedded default).

Design choices, and why:

* **No symlink is ever followed.** Every path is walked one component at a time from
  an open descriptor of the root with ``O_NOFOLLOW`` (``openat``), so neither a
  symlink planted inside the root nor a component swapped for one mid-operation can
  lead outside it. Symlinks are refused whatever they point to; that is the only
  race-free way to be sure none leads out. ``list()`` skips them.
* **Writes are atomic.** Data goes to a temporary file in the target folder, is
  fsynced, then ``os.replace``-d into place (``put``) or hard-linked into place
  (``put_if_absent`` / ``copy(if_absent=True)``: ``link`` fails if the name exists,
  so there is no check-then-write race). Readers never see a partial file.
* **Metadata lives in a sidecar**, ``<root>/.tidyllm-meta/<xx>/<sha256(key)>.json``,
  never listed as an object. Extended attributes were rejected: they are lost by
  many copy tools and unsupported on some file systems and shares. The sidecar
  records the inode, size and mtime of the file it describes and is used only while
  they still match, so a stale sidecar (crash, concurrent writer, a person editing
  the file) never attaches the wrong metadata: the file then has no content type or
  metadata and its etag is recomputed. Files people drop in the folder by hand have
  no sidecar; their etag (MD5, as S3 gives for single-part objects) is computed by
  reading the file.
* Keys starting with ``.tidyllm-meta/`` and segments starting with ``.tidyllm-tmp-``
  are reserved. A key cannot name a file and a folder at once (``a`` and ``a/b``),
  which S3 allows; such a put raises ``ObjectStoreError``. Emptied folders are left
  in place (removing them would race with concurrent writers).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import secrets
import stat
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType
from typing import BinaryIO

from tidyllm.errors import (
    InvalidKey,
    ObjectExists,
    ObjectNotFound,
    ObjectStoreError,
    ServiceUnavailable,
)
from tidyllm.objectstore.base import (
    CHUNK_SIZE,
    Data,
    ObjectInfo,
    ObjectStore,
    check_data,
    check_metadata,
)
from tidyllm.objectstore.keys import validate_key, validate_prefix

META_DIR = ".tidyllm-meta"
TMP_PREFIX = ".tidyllm-tmp-"
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC
_NEW_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


def _md5_fd(fd: int) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with open(os.dup(fd), "rb", closefd=True) as f:
        while chunk := f.read(CHUNK_SIZE):
            digest.update(chunk)
    return digest.hexdigest()


def _mtime(st: os.stat_result) -> datetime:
    return datetime.fromtimestamp(st.st_mtime_ns / 1e9, tz=UTC)


class LocalObjectStore(ObjectStore):
    """Objects as files under ``root`` (created unless ``create=False``)."""

    uri_scheme = "file"

    def __init__(self, root: Path | str, *, create: bool = True) -> None:
        root = Path(root)
        if create:
            root.mkdir(parents=True, exist_ok=True)
        self.root = root.resolve()
        self.description = f"local folder {self.root}"

    def __repr__(self) -> str:
        return f"LocalObjectStore({str(self.root)!r})"

    # -- key and path helpers ---------------------------------------------------
    def _key(self, key: object) -> str:
        key = validate_key(key)
        parts = key.split("/")
        if parts[0] == META_DIR or any(p.startswith(TMP_PREFIX) for p in parts):
            raise InvalidKey(f"object key {key!r} uses a name reserved by the local store")
        return key

    def uri(self, key: str) -> str:
        """``file:///abs/path`` of the object (percent-encoded)."""
        return (self.root / self._key(key)).as_uri()

    def _refuse_symlink(self, dir_fd: int, name: str, key: str) -> None:
        """Raise a clear error if ``name`` in ``dir_fd`` is a symlink."""
        try:
            st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        except OSError:
            return
        if stat.S_ISLNK(st.st_mode):
            raise ObjectStoreError(
                f"refusing to follow the symlink {name!r} on the way to {key!r} in "
                f"{self.description}: symlinks are never followed"
            )

    @contextlib.contextmanager
    def _parent(self, key: str, *, create: bool = False) -> Iterator[tuple[int, str]]:
        """Yield (descriptor of the key's folder, file name), walking without symlinks."""
        *folders, name = key.split("/")
        try:
            fd = os.open(self.root, _DIR_FLAGS)
        except OSError as exc:
            raise ServiceUnavailable("object store", f"{self.description}: {exc.strerror}") from exc
        try:
            for part in folders:
                if create:
                    with contextlib.suppress(FileExistsError):
                        os.mkdir(part, 0o777, dir_fd=fd)
                try:
                    child = os.open(part, _DIR_FLAGS, dir_fd=fd)
                except FileNotFoundError:
                    raise ObjectNotFound(f"no object {key!r} in {self.description}") from None
                except OSError as exc:
                    self._refuse_symlink(fd, part, key)
                    if exc.errno == errno.ENOTDIR and not create:
                        raise ObjectNotFound(f"no object {key!r} in {self.description}") from None
                    raise ObjectStoreError(
                        f"cannot use {key!r} in {self.description}: {part!r} is a file, "
                        "not a folder"
                    ) from exc
                os.close(fd)
                fd = child
            yield fd, name
        finally:
            os.close(fd)

    def _open_read(self, key: str) -> tuple[int, os.stat_result]:
        """Open ``key`` read-only (never through a symlink); return fd and its stat."""
        with self._parent(key) as (dir_fd, name):
            try:
                fd = os.open(name, _READ_FLAGS, dir_fd=dir_fd)
            except FileNotFoundError:
                raise ObjectNotFound(f"no object {key!r} in {self.description}") from None
            except OSError as exc:
                self._refuse_symlink(dir_fd, name, key)
                raise ObjectStoreError(f"cannot open {key!r} in {self.description}") from exc
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            os.close(fd)
            raise ObjectNotFound(f"no object {key!r} in {self.description} (it is a folder)")
        return fd, st

    # -- sidecar ----------------------------------------------------------------------
    @staticmethod
    def _sidecar_name(key: str) -> tuple[str, str]:
        digest = hashlib.sha256(key.encode("utf-8")).hexdigest()
        return digest[:2], digest + ".json"

    def _read_sidecar(self, key: str, st: os.stat_result) -> dict | None:
        """The sidecar of ``key`` if it describes exactly this file, else None."""
        folder, name = self._sidecar_name(key)
        try:
            with self._parent(f"{META_DIR}/{folder}/{name}") as (dir_fd, leaf):
                fd = os.open(leaf, _READ_FLAGS, dir_fd=dir_fd)
                with open(fd, "rb") as f:
                    meta = json.loads(f.read(1 << 20))
        except (ObjectStoreError, OSError, ValueError):
            return None
        if not isinstance(meta, dict):
            return None
        fingerprint = [st.st_ino, st.st_size, st.st_mtime_ns]
        if meta.get("key") != key or meta.get("stat") != fingerprint:
            return None
        return meta

    def _write_sidecar(self, key: str, meta: dict) -> None:
        folder, name = self._sidecar_name(key)
        body = json.dumps(meta, sort_keys=True).encode("utf-8")
        with self._parent(f"{META_DIR}/{folder}/{name}", create=True) as (dir_fd, leaf):
            tmp = TMP_PREFIX + secrets.token_hex(8)
            fd = os.open(tmp, _NEW_FLAGS, 0o666, dir_fd=dir_fd)
            try:
                with open(fd, "wb") as f:
                    f.write(body)
                os.replace(tmp, leaf, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp, dir_fd=dir_fd)
                raise

    def _remove_sidecar(self, key: str) -> None:
        folder, name = self._sidecar_name(key)
        with (
            contextlib.suppress(ObjectStoreError, OSError),
            self._parent(f"{META_DIR}/{folder}/{name}") as (dir_fd, leaf),
        ):
            os.unlink(leaf, dir_fd=dir_fd)

    def _info(self, key: str, fd: int, st: os.stat_result, *, full: bool = True) -> ObjectInfo:
        meta = self._read_sidecar(key, st)
        etag = meta["etag"] if meta else _md5_fd(fd)
        if not full or meta is None:
            return ObjectInfo(key=key, size=st.st_size, etag=etag, modified=_mtime(st))
        return ObjectInfo(
            key=key,
            size=st.st_size,
            etag=etag,
            modified=_mtime(st),
            content_type=meta.get("content_type"),
            metadata=MappingProxyType(dict(meta.get("metadata") or {})),
        )

    # -- writes -----------------------------------------------------------------------
    def _write(
        self,
        key: str,
        source: Data,
        content_type: str | None,
        metadata: dict[str, str],
        *,
        exclusive: bool,
    ) -> ObjectInfo:
        """Write to a temp file beside the target, then replace or link it into place."""
        with self._parent(key, create=True) as (dir_fd, name):
            tmp = TMP_PREFIX + secrets.token_hex(8)
            fd = os.open(tmp, _NEW_FLAGS, 0o666, dir_fd=dir_fd)
            try:
                digest = hashlib.md5(usedforsecurity=False)
                with open(fd, "wb", closefd=False) as out:
                    if isinstance(source, bytes | bytearray | memoryview):
                        digest.update(source)
                        out.write(source)
                    else:
                        while chunk := source.read(CHUNK_SIZE):
                            digest.update(chunk)
                            out.write(chunk)
                    out.flush()
                    os.fsync(fd)
                st = os.fstat(fd)
                os.close(fd)
                fd = -1
                meta = {
                    "key": key,
                    "stat": [st.st_ino, st.st_size, st.st_mtime_ns],
                    "etag": digest.hexdigest(),
                    "content_type": content_type,
                    "metadata": metadata,
                }
                if exclusive:
                    self._link_new(dir_fd, tmp, name, key)
                    self._write_sidecar(key, meta)
                else:
                    # Sidecar first: it matches only the new inode, so a crash in between
                    # leaves the old file with no metadata rather than the wrong metadata.
                    self._write_sidecar(key, meta)
                    self._replace(dir_fd, tmp, name, key)
                os.fsync(dir_fd)
            finally:
                if fd >= 0:
                    os.close(fd)
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(tmp, dir_fd=dir_fd)
        return ObjectInfo(
            key=key,
            size=st.st_size,
            etag=meta["etag"],
            modified=_mtime(st),
            content_type=content_type,
            metadata=MappingProxyType(dict(metadata)),
        )

    def _link_new(self, dir_fd: int, tmp: str, name: str, key: str) -> None:
        try:
            os.link(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd, follow_symlinks=False)
        except FileExistsError:
            raise ObjectExists(f"{self.uri(key)} already exists; it was not overwritten") from None
        except OSError as exc:
            raise ObjectStoreError(
                f"cannot create {key!r} in {self.description}: {exc.strerror} "
                "(the local store needs a file system with hard links)"
            ) from exc

    def _replace(self, dir_fd: int, tmp: str, name: str, key: str) -> None:
        try:
            os.replace(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        except OSError as exc:
            raise ObjectStoreError(
                f"cannot write {key!r} in {self.description}: {exc.strerror}"
            ) from exc

    def put(
        self,
        key: str,
        data: Data,
        *,
        content_type: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> ObjectInfo:
        """Atomically write ``data`` at ``key`` (temp file + ``os.replace``)."""
        key = self._key(key)
        check_data(data)
        return self._write(key, data, content_type, check_metadata(metadata), exclusive=False)

    def put_if_absent(
        self,
        key: str,
        data: Data,
        *,
        content_type: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> ObjectInfo:
        """Atomically create ``key`` (temp file + hard link); ``ObjectExists`` if present."""
        key = self._key(key)
        check_data(data)
        return self._write(key, data, content_type, check_metadata(metadata), exclusive=True)

    def copy(self, src: str, dst: str, *, if_absent: bool = False) -> ObjectInfo:
        """Stream ``src`` into ``dst`` with its content type and metadata."""
        src, dst = self._key(src), self._key(dst)
        fd, st = self._open_read(src)
        with open(fd, "rb") as stream:
            info = self._info(src, fd, st)
            stream.seek(0)
            if src == dst:
                if if_absent:
                    raise ObjectExists(f"{self.uri(dst)} already exists; it was not overwritten")
                return info
            return self._write(
                dst, stream, info.content_type, dict(info.metadata), exclusive=if_absent
            )

    def delete(self, key: str) -> None:
        """Remove the file and its sidecar; a missing key is fine."""
        key = self._key(key)
        try:
            with self._parent(key) as (dir_fd, name):
                self._refuse_symlink(dir_fd, name, key)
                try:
                    os.unlink(name, dir_fd=dir_fd)
                except FileNotFoundError:
                    pass
                except IsADirectoryError:
                    return  # a folder is not an object
                except OSError as exc:
                    raise ObjectStoreError(
                        f"cannot delete {key!r} in {self.description}: {exc.strerror}"
                    ) from exc
        except ObjectNotFound:
            pass
        self._remove_sidecar(key)

    # -- reads ------------------------------------------------------------------------
    @contextlib.contextmanager
    def get(self, key: str) -> Iterator[BinaryIO]:
        """Open the file for streaming reads (never through a symlink)."""
        fd, _ = self._open_read(self._key(key))
        with open(fd, "rb") as stream:
            yield stream

    def head(self, key: str) -> ObjectInfo:
        """Size, MD5 etag, mtime (UTC) and the sidecar's content type and metadata."""
        key = self._key(key)
        fd, st = self._open_read(key)
        try:
            return self._info(key, fd, st)
        finally:
            os.close(fd)

    def list(self, prefix: str = "", *, page_size: int = 1000) -> Iterator[ObjectInfo]:
        """Walk the folder lazily in S3 key order; one directory's names in memory at a time.

        Skips symlinks, special files, the sidecar tree and temp files. ``page_size``
        is accepted for interface parity (a folder walk has no pages).
        """
        prefix = validate_prefix(prefix)
        if page_size < 1:
            raise ValueError("page_size must be at least 1")
        folder, _, partial = prefix.rpartition("/")
        return self._walk(folder, partial)

    def _walk(self, folder: str, partial: str) -> Iterator[ObjectInfo]:
        try:
            if folder:
                with self._parent(folder + "/x") as (dir_fd, _):
                    yield from self._walk_fd(dir_fd, folder + "/", partial)
            else:
                with self._parent("x") as (dir_fd, _):
                    yield from self._walk_fd(dir_fd, "", partial)
        except ObjectNotFound:
            return

    def _walk_fd(self, dir_fd: int, base: str, partial: str) -> Iterator[ObjectInfo]:
        entries = []
        with os.scandir(dir_fd) as it:
            for entry in it:
                name = entry.name
                if not name.startswith(partial) or name.startswith(TMP_PREFIX):
                    continue
                if not base and name == META_DIR:
                    continue
                if entry.is_dir(follow_symlinks=False):
                    entries.append((name + "/", name, True))
                elif entry.is_file(follow_symlinks=False):
                    entries.append((name, name, False))
        entries.sort()
        for _, name, is_dir in entries:
            if is_dir:
                try:
                    child = os.open(name, _DIR_FLAGS, dir_fd=dir_fd)
                except OSError:
                    continue  # removed or replaced meanwhile
                try:
                    yield from self._walk_fd(child, base + name + "/", "")
                finally:
                    os.close(child)
                continue
            try:
                fd = os.open(name, _READ_FLAGS, dir_fd=dir_fd)
            except OSError:
                continue  # removed meanwhile, or replaced by a symlink
            try:
                st = os.fstat(fd)
                if stat.S_ISREG(st.st_mode):
                    yield self._info(base + name, fd, st, full=False)
            finally:
                os.close(fd)

    def probe(self) -> str:
        """The root exists and a file can be created and removed in it."""
        try:
            fd = os.open(self.root, _DIR_FLAGS)
        except OSError as exc:
            raise ServiceUnavailable(
                "object store", f"{self.description} cannot be opened: {exc.strerror}"
            ) from exc
        try:
            tmp = TMP_PREFIX + "probe-" + secrets.token_hex(8)
            os.close(os.open(tmp, _NEW_FLAGS, 0o600, dir_fd=fd))
            os.unlink(tmp, dir_fd=fd)
        except OSError as exc:
            raise ServiceUnavailable(
                "object store", f"{self.description} is not writable: {exc.strerror}"
            ) from exc
        finally:
            os.close(fd)
        return f"{self.description} is writable"
