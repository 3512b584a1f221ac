"""The object-store contract shared by the S3 and local-folder backends.

Backends implement the primitive operations (put, conditional put, get, head, list,
copy, delete). The pieces whose correctness matters most - ``move`` (copy, verify,
delete; safe to repeat after a crash) and the content comparison behind it - live
here once, so both backends behave the same way.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import BinaryIO

from tidyllm.errors import ObjectExists, ObjectNotFound, ObjectStoreError, ObjectTooLarge
from tidyllm.objectstore.keys import validate_key

CHUNK_SIZE = 1024 * 1024
"""Read size for streaming copies and hashing: bounded memory whatever the object size."""

Data = bytes | bytearray | memoryview | BinaryIO


@dataclass(frozen=True)
class ObjectInfo:
    """What a store knows about one object.

    ``etag`` is the MD5 hex digest of the content for single-part objects on both
    backends (S3 multipart objects have S3's ``<md5-of-md5s>-<parts>`` form).
    ``modified`` is timezone-aware UTC. ``list()`` fills only key, size, etag and
    modified (S3 listings carry nothing else); ``head()`` fills everything.
    """

    key: str
    size: int
    etag: str
    modified: datetime
    content_type: str | None = None
    metadata: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    version_id: str | None = None


def check_data(data: object) -> None:
    """Refuse anything that is neither bytes-like nor a readable binary stream."""
    if isinstance(data, bytes | bytearray | memoryview):
        return
    if isinstance(data, str) or not callable(getattr(data, "read", None)):
        raise TypeError(f"object data must be bytes or a binary stream, not {type(data).__name__}")


def check_metadata(metadata: Mapping[str, str] | None) -> dict[str, str]:
    """Metadata keys and values are ASCII strings (S3 sends them as HTTP headers)."""
    out: dict[str, str] = {}
    for name, value in (metadata or {}).items():
        if not isinstance(name, str) or not isinstance(value, str):
            raise ObjectStoreError("object metadata names and values must be str")
        if not name or not name.isascii() or not value.isascii():
            raise ObjectStoreError(f"object metadata {name!r} must be non-empty ASCII")
        if any(ord(c) < 32 or ord(c) == 127 for c in name + value):
            raise ObjectStoreError(f"object metadata {name!r} contains a control character")
        out[name.lower()] = value
    return out


class ObjectStore(ABC):
    """One interface over S3 and a local folder.

    Every public method validates its keys with :func:`validate_key` and raises only
    :mod:`tidyllm.errors` classes: ``InvalidKey``, ``ObjectNotFound``, ``ObjectExists``,
    ``ObjectTooLarge``, ``ObjectStoreError`` and ``ServiceUnavailable``.
    """

    uri_scheme: str
    description: str

    # -- primitives ---------------------------------------------------------------
    @abstractmethod
    def put(
        self,
        key: str,
        data: Data,
        *,
        content_type: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> ObjectInfo:
        """Write ``data`` (bytes or a binary stream) at ``key``, replacing what was there."""

    @abstractmethod
    def put_if_absent(
        self,
        key: str,
        data: Data,
        *,
        content_type: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> ObjectInfo:
        """Write ``data`` at ``key`` only if nothing is there, atomically; else ``ObjectExists``."""

    @abstractmethod
    def get(self, key: str) -> AbstractContextManager[BinaryIO]:
        """Open ``key`` for streaming reads: ``with store.get(k) as f: f.read(n)``."""

    @abstractmethod
    def head(self, key: str) -> ObjectInfo:
        """Size, etag, modified time, content type and metadata; ``ObjectNotFound`` if missing."""

    @abstractmethod
    def list(self, prefix: str = "", *, page_size: int = 1000) -> Iterator[ObjectInfo]:
        """Yield the objects whose key starts with ``prefix``, sorted by key, page by page."""

    @abstractmethod
    def copy(self, src: str, dst: str, *, if_absent: bool = False) -> ObjectInfo:
        """Copy ``src`` to ``dst`` with its content type and metadata.

        With ``if_absent`` an existing ``dst`` is never overwritten (``ObjectExists``).
        """

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove ``key``; a missing key is not an error."""

    @abstractmethod
    def uri(self, key: str) -> str:
        """A URI naming the object (``s3://bucket/prefix/key`` or ``file:///abs/path``)."""

    @abstractmethod
    def probe(self) -> str:
        """Least-privilege health check; a short detail string, or ``ServiceUnavailable``."""

    # -- hooks for move ---------------------------------------------------------
    def _delete_if_unchanged(self, info: ObjectInfo) -> None:
        """Delete ``info.key`` if it still holds the content ``info`` describes.

        Backends override this with a conditional delete where they have one; the
        default re-checks size and etag, then deletes.
        """
        try:
            current = self.head(info.key)
        except ObjectNotFound:
            return
        if (current.size, current.etag) != (info.size, info.etag):
            raise ObjectStoreError(
                f"{self.uri(info.key)} changed while it was being moved; it was not deleted"
            )
        self.delete(info.key)

    def _etags_prove_equal(self, a: ObjectInfo, b: ObjectInfo) -> bool:
        """True when the etags alone prove equal content (backends may know more forms)."""
        return a.etag == b.etag

    # -- derived operations -------------------------------------------------------
    def exists(self, key: str) -> bool:
        """True if an object is stored at ``key``."""
        try:
            self.head(key)
        except ObjectNotFound:
            return False
        return True

    def read_bytes(self, key: str, *, max_bytes: int | None = None) -> bytes:
        """Read a whole object into memory, refusing one larger than ``max_bytes``."""
        with self.get(key) as stream:
            if max_bytes is None:
                return stream.read()
            data = stream.read(max_bytes + 1)
        if len(data) > max_bytes:
            raise ObjectTooLarge(f"{self.uri(key)} is larger than the limit of {max_bytes} bytes")
        return data

    def sha256(self, key: str) -> str:
        """SHA-256 hex digest of the object, streamed (bounded memory)."""
        digest = hashlib.sha256()
        with self.get(key) as stream:
            while chunk := stream.read(CHUNK_SIZE):
                digest.update(chunk)
        return digest.hexdigest()

    def same_content(self, a: ObjectInfo, b: ObjectInfo) -> bool:
        """True if the two objects hold the same bytes: size, then etag, then SHA-256."""
        if a.size != b.size:
            return False
        if self._etags_prove_equal(a, b):
            return True
        return self.sha256(a.key) == self.sha256(b.key)

    def move(self, src: str, dst: str, *, if_absent: bool = True) -> ObjectInfo:
        """Move ``src`` to ``dst``: copy, verify, then delete the source.

        Safe to repeat after a crash at any point:

        * copy not done: it is done now;
        * copy done, source not deleted: ``dst`` already holds the same content, so the
          move finishes by deleting ``src`` (a *different* ``dst`` raises ``ObjectExists``
          when ``if_absent``, and nothing is deleted);
        * source already deleted: ``dst``'s info is returned.

        The last case cannot tell "moved earlier" from "``src`` never existed but
        ``dst`` does"; the caller's ledger records which move it started. The source is
        deleted only if it still holds the content that was verified at ``dst``.
        """
        validate_key(src)
        validate_key(dst)
        if src == dst:
            return self.head(src)
        try:
            src_info = self.head(src)
        except ObjectNotFound:
            try:
                return self.head(dst)
            except ObjectNotFound:
                raise ObjectNotFound(
                    f"cannot move {self.uri(src)}: neither it nor {self.uri(dst)} exists"
                ) from None
        try:
            self.copy(src, dst, if_absent=if_absent)
        except ObjectExists:
            clash = self.head(dst)
            if not self.same_content(src_info, clash):
                raise ObjectExists(
                    f"cannot move {self.uri(src)}: {self.uri(dst)} already holds different "
                    "content; nothing was overwritten or deleted"
                ) from None
        except ObjectNotFound:
            # The source vanished between head and copy: another mover finished first.
            return self.head(dst)
        dst_info = self.head(dst)
        if not self.same_content(src_info, dst_info):
            raise ObjectStoreError(
                f"move of {self.uri(src)} to {self.uri(dst)} failed verification "
                "(size or content differ); the source was kept"
            )
        self._delete_if_unchanged(src_info)
        return dst_info
