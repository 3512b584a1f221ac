"""Moving files out of incoming/: collision-free names, and moves safe to repeat.

The worker records the destination in the ledger *before* it moves
(``Ledger.plan_finish``), then moves (copy, verify, delete), then records the
new location. A worker killed at any point leaves a row whose ``dest_key`` says
which move was started; the next worker repeats it, which the object store's
``move`` makes safe.

Names in processed/ and failed/ carry the ledger id (``report.pdf`` ->
``processed/report.1234.pdf``), so two versions never collide; a name that is
taken anyway (someone put a file there by hand) gets another suffix and nothing
is overwritten.

**Hostile names.** An S3 listing can hold keys our object store refuses
(``a\\b``, NUL, ``..`` segments, keys over 1,024 bytes); a local folder can hold
symlinks and special files the store never follows. These are quarantined
with a *raw* move that bypasses key validation on the source side only: on S3
through the session manager's S3 client (copy, verify size and etag, delete),
on a local folder with ``link``/``unlink`` relative to directory descriptors
opened with ``O_NOFOLLOW`` (the link itself is moved, never its target). The
destination is always a safe name built by :func:`quarantine_key`, and the
original name is kept in the error sidecar and the ledger.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import unicodedata
from collections.abc import Iterator, Mapping
from typing import Any

from tidyllm.dropzones.zone import FAILED, INCOMING, LOCATIONS, Zone
from tidyllm.errors import ObjectExists, ObjectNotFound, ObjectStoreError
from tidyllm.objectstore.keys import MAX_SEGMENT_BYTES, is_valid_key

_RESERVED_TAIL = 80  # bytes kept free in a segment for ".<id>-<n>.ext.report.json" suffixes
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def _truncate(text: str, max_bytes: int) -> str:
    data = text.encode("utf-8")
    if len(data) <= max_bytes:
        return text
    return data[:max_bytes].decode("utf-8", "ignore")


def _split_ext(name: str) -> tuple[str, str]:
    """``("report", ".PDF")``; spaces after the extension go (``" UPPER .PDF "``)."""
    stem, dot, ext = name.rstrip().rpartition(".")
    if not dot or not stem.strip() or len(ext) > 10 or not ext.isalnum():
        return name, ""
    return stem, "." + ext


def dest_key(zone: Zone, key: str, file_id: int, location: str, attempt: int = 0) -> str:
    """``processed/<dir>/<stem>.<id>[-n]<ext>``: unique per ledger row (and attempt)."""
    folder, _, name = key.rpartition("/")
    stem, ext = _split_ext(name)
    tag = f".{file_id}" + (f"-{attempt}" if attempt else "")
    stem = _truncate(stem, MAX_SEGMENT_BYTES - _RESERVED_TAIL - len(ext))
    out = LOCATIONS[location] + (folder + "/" if folder else "") + stem + tag + ext
    return out if is_valid_key(out) else quarantine_key(key, file_id, location, attempt)


_UNSAFE = re.compile(r"[\\\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def quarantine_key(key: str, file_id: int, location: str = "failed", attempt: int = 0) -> str:
    """A safe destination for a file whose own name is unusable: a flat, cleaned name."""
    raw = key.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    name = _UNSAFE.sub("_", raw).replace("/", "_").strip(". ") or "unnamed"
    name = "".join(ch if unicodedata.category(ch) != "Cs" else "_" for ch in name)
    stem, ext = _split_ext(name)
    stem = _truncate(stem, MAX_SEGMENT_BYTES - _RESERVED_TAIL - len(ext)) or "unnamed"
    tag = f".{file_id}" + (f"-{attempt}" if attempt else "")
    out = LOCATIONS[location] + stem + tag + ext
    return out if is_valid_key(out) else f"{LOCATIONS[location]}unnamed{tag}"


def write_attachments(zone: Zone, dest: str, attachments: Mapping[str, bytes]) -> None:
    """Write ``<dest>.<suffix>`` files (reports, error sidecars); never overwrite."""
    for suffix, data in attachments.items():
        with contextlib.suppress(ObjectExists):  # written by an earlier attempt of this move
            zone.store.put_if_absent(f"{dest}.{suffix}", data, content_type=_content_type(suffix))


def _content_type(suffix: str) -> str:
    if suffix.endswith(".json"):
        return "application/json"
    if suffix.endswith(".md"):
        return "text/markdown; charset=utf-8"
    return "application/octet-stream"


def move_file(sm: Any, zone: Zone, key: str, kind: str, dest: str) -> None:
    """Move incoming/``key`` to ``dest``; repeatable.

    S3: the object store's copy-verify-delete (a raw move for hostile keys). Local
    folders: a hard link then an unlink, relative to ``O_NOFOLLOW`` directory
    descriptors - no bytes are copied (a 3 GiB sparse file moves instantly and stays
    sparse), an existing destination is never replaced, and a repeat after a crash
    finds the link already made.
    """
    if not zone.is_s3:
        _raw_move_local(zone, key, dest)
    elif kind == "file" and is_valid_key(INCOMING + key):
        zone.store.move(INCOMING + key, dest, if_absent=True)
    else:
        _raw_move_s3(sm, zone, key, dest)


# --- raw moves -------------------------------------------------------------------------------


def _raw_move_s3(sm: Any, zone: Zone, key: str, dest: str) -> None:
    client = sm.s3_client()
    bucket, prefix = zone.store.bucket, zone.store.prefix
    src_full = prefix + INCOMING + key
    dst_full = prefix + dest
    src = _head_raw(client, bucket, src_full)
    dst = _head_raw(client, bucket, dst_full)
    if src is None:
        if dst is not None:
            return  # moved earlier; the ledger says this move was started
        raise ObjectNotFound(f"cannot quarantine {key!r}: neither it nor {dest!r} exists")
    if dst is None:
        client.copy_object(
            Bucket=bucket, Key=dst_full, CopySource={"Bucket": bucket, "Key": src_full}
        )
        dst = _head_raw(client, bucket, dst_full)
    if dst is None or (dst["ContentLength"], dst["ETag"]) != (src["ContentLength"], src["ETag"]):
        raise ObjectStoreError(
            f"quarantine copy of {key!r} to {dest!r} failed verification; the source was kept"
        )
    client.delete_object(Bucket=bucket, Key=src_full)


def _head_raw(client: Any, bucket: str, key: str) -> dict | None:
    try:
        return client.head_object(Bucket=bucket, Key=key)
    except Exception as exc:
        code = str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))
        if code in {"404", "NoSuchKey", "NotFound"}:
            return None
        raise


@contextlib.contextmanager
def _open_dir(root_fd: int, parts: list[str], *, create: bool) -> Iterator[int]:
    """A descriptor of ``root/parts...``, walked without following any symlink."""
    fd = os.dup(root_fd)
    try:
        for part in parts:
            if create:
                with contextlib.suppress(FileExistsError):
                    os.mkdir(part, 0o755, dir_fd=fd)
            child = os.open(part, _DIR_FLAGS, dir_fd=fd)
            os.close(fd)
            fd = child
        yield fd
    finally:
        os.close(fd)


def _raw_move_local(zone: Zone, key: str, dest: str) -> None:
    root = zone.local_root
    assert root is not None
    *src_dirs, src_name = (INCOMING + key).split("/")
    *dst_dirs, dst_name = dest.split("/")
    root_fd = os.open(root, _DIR_FLAGS)
    try:
        with (
            _open_dir(root_fd, src_dirs, create=False) as sfd,
            _open_dir(root_fd, dst_dirs, create=True) as dfd,
        ):
            try:
                os.link(src_name, dst_name, src_dir_fd=sfd, dst_dir_fd=dfd, follow_symlinks=False)
            except FileNotFoundError:
                if _exists(dfd, dst_name):
                    return  # moved earlier
                raise ObjectNotFound(
                    f"cannot quarantine {key!r}: neither it nor {dest!r} exists"
                ) from None
            except FileExistsError:
                if not _same_entry(sfd, src_name, dfd, dst_name):
                    raise ObjectExists(f"{dest!r} exists; nothing was overwritten") from None
            with contextlib.suppress(FileNotFoundError):
                os.unlink(src_name, dir_fd=sfd)
    except OSError as exc:
        if exc.errno in (errno.ENOTDIR, errno.ELOOP):
            raise ObjectStoreError(
                f"cannot quarantine {key!r}: a folder on its path is a symlink"
            ) from exc
        raise
    finally:
        os.close(root_fd)


def _exists(dir_fd: int, name: str) -> bool:
    try:
        os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return False
    return True


def _same_entry(sfd: int, sname: str, dfd: int, dname: str) -> bool:
    a = os.stat(sname, dir_fd=sfd, follow_symlinks=False)
    b = os.stat(dname, dir_fd=dfd, follow_symlinks=False)
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


__all__ = [
    "FAILED",
    "dest_key",
    "move_file",
    "quarantine_key",
    "write_attachments",
]
