"""Local-folder behaviour: symlinks, sidecars, atomic writes, hand-dropped files."""

from __future__ import annotations

import hashlib
import io
import os

import pytest

from tidyllm.errors import (
    InvalidKey,
    ObjectExists,
    ObjectNotFound,
    ObjectStoreError,
    ServiceUnavailable,
)
from tidyllm.objectstore import LocalObjectStore


@pytest.fixture
def outside(tmp_path):
    secret = tmp_path / "outside"
    secret.mkdir()
    (secret / "passwd").write_bytes(b"root:x:0:0")
    return secret


def test_symlinks_out_of_the_root_are_refused(local_store, outside):
    root = local_store.root
    (root / "zone").mkdir()
    os.symlink(outside / "passwd", root / "zone" / "file-link")
    os.symlink(outside, root / "dir-link")
    for key in ("zone/file-link", "dir-link/passwd"):
        with pytest.raises(ObjectStoreError, match="symlink") as info:
            local_store.read_bytes(key)
        assert not isinstance(info.value, ObjectNotFound)
        with pytest.raises(ObjectStoreError, match="symlink"):
            local_store.head(key)
        with pytest.raises(ObjectStoreError, match="symlink"):
            local_store.copy(key, "stolen")
    with pytest.raises(ObjectStoreError, match="symlink"):
        local_store.put("dir-link/planted", b"x")
    with pytest.raises(ObjectStoreError, match="symlink"):
        local_store.delete("zone/file-link")
    assert list(local_store.list()) == []  # symlinks are not objects
    assert sorted(p.name for p in outside.iterdir()) == ["passwd"]
    assert (outside / "passwd").read_bytes() == b"root:x:0:0"
    assert not (root / "stolen").exists()


def test_listing_through_a_symlinked_folder_is_refused(local_store, outside):
    os.symlink(outside, local_store.root / "dir-link")
    with pytest.raises(ObjectStoreError, match="symlink"):
        list(local_store.list("dir-link/"))


def test_symlink_inside_the_root_is_not_followed_either(local_store):
    local_store.put("real", b"data")
    os.symlink(local_store.root / "real", local_store.root / "alias")
    with pytest.raises(ObjectStoreError, match="symlink"):
        local_store.read_bytes("alias")
    assert [i.key for i in local_store.list()] == ["real"]


def test_sidecars_and_temp_files_are_not_objects(local_store):
    local_store.put("a", b"1", content_type="text/plain", metadata={"k": "v"})
    (local_store.root / ".tidyllm-tmp-leftover").write_bytes(b"crash debris")
    assert (local_store.root / ".tidyllm-meta").is_dir()
    assert [i.key for i in local_store.list()] == ["a"]
    for key in (".tidyllm-meta/x", "a/.tidyllm-tmp-1"):
        with pytest.raises(InvalidKey, match="reserved"):
            local_store.put(key, b"x")


def test_hand_dropped_file_gets_md5_etag_and_no_metadata(local_store):
    (local_store.root / "dropped").mkdir()
    (local_store.root / "dropped" / "scan.pdf").write_bytes(b"%PDF-1.7")
    info = local_store.head("dropped/scan.pdf")
    assert info.etag == md5(b"%PDF-1.7")
    assert info.content_type is None and dict(info.metadata) == {}
    assert [i.key for i in local_store.list()] == ["dropped/scan.pdf"]


def test_a_stale_sidecar_never_describes_a_changed_file(local_store):
    local_store.put("doc", b"version one", content_type="text/plain", metadata={"v": "1"})
    path = local_store.root / "doc"
    with open(path, "r+b") as f:  # a person edits the file in place
        f.write(b"VERSION")
    info = local_store.head("doc")
    assert info.etag == md5(b"VERSION one")
    assert info.content_type is None and dict(info.metadata) == {}


def test_failed_stream_leaves_no_partial_object(local_store):
    class Broken(io.RawIOBase):
        def __init__(self):
            self.sent = False

        def readable(self):
            return True

        def read(self, n=-1):
            if self.sent:
                raise OSError("network share went away")
            self.sent = True
            return b"partial"

    local_store.put("k", b"original")
    with pytest.raises(OSError, match="went away"):
        local_store.put("k", Broken())
    with pytest.raises(OSError):
        local_store.put_if_absent("new", Broken())
    assert local_store.read_bytes("k") == b"original"
    assert not local_store.exists("new")
    leftovers = [p.name for p in local_store.root.iterdir() if p.name.startswith(".tidyllm-tmp")]
    assert leftovers == []


def test_key_cannot_be_both_file_and_folder(local_store):
    local_store.put("a", b"file")
    with pytest.raises(ObjectStoreError, match="is a file"):
        local_store.put("a/b", b"x")
    local_store.put("dir/x", b"x")
    with pytest.raises(ObjectStoreError):
        local_store.put("dir", b"x")
    with pytest.raises(ObjectNotFound):
        local_store.head("dir")
    with pytest.raises(ObjectNotFound):
        local_store.head("a/b")
    local_store.delete("dir")  # a folder is not an object: nothing to delete
    assert local_store.read_bytes("dir/x") == b"x"


def test_put_if_absent_does_not_replace_a_folder(local_store):
    local_store.put("dir/x", b"x")
    with pytest.raises(ObjectExists):
        local_store.put_if_absent("dir", b"x")


def test_written_files_respect_umask_not_0600(local_store):
    local_store.put("k", b"x")
    mode = (local_store.root / "k").stat().st_mode & 0o777
    assert mode == 0o666 & ~_umask()


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def test_probe_on_missing_or_read_only_root(tmp_path):
    store = LocalObjectStore(tmp_path / "gone")
    assert "writable" in store.probe()
    (tmp_path / "gone").rmdir()
    with pytest.raises(ServiceUnavailable, match="gone"):
        store.probe()
    with pytest.raises(ServiceUnavailable):
        store.put("k", b"x")
    assert not LocalObjectStore(tmp_path / "never", create=False).root.exists()


def md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()
