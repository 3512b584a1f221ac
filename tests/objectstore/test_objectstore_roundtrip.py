"""Every method, round-tripped on both backends (local folder and moto S3 over HTTP)."""

from __future__ import annotations

import hashlib
import io
from datetime import UTC, datetime, timedelta

import pytest

from tidyllm.errors import InvalidKey, ObjectExists, ObjectNotFound, ObjectTooLarge
from tidyllm.objectstore import LocalObjectStore, ObjectStore


def test_put_head_get_round_trip(store: ObjectStore):
    before = datetime.now(UTC) - timedelta(seconds=5)
    info = store.put(
        "docs/a.txt", b"hello", content_type="text/plain", metadata={"Source": "unit-test"}
    )
    assert (info.key, info.size, info.etag) == ("docs/a.txt", 5, md5(b"hello"))
    head = store.head("docs/a.txt")
    assert head.size == 5 and head.etag == info.etag
    assert head.content_type == "text/plain"
    assert dict(head.metadata) == {"source": "unit-test"}
    assert head.modified.tzinfo is not None and head.modified >= before
    with store.get("docs/a.txt") as stream:
        assert stream.read() == b"hello"
    assert store.read_bytes("docs/a.txt") == b"hello"
    assert store.exists("docs/a.txt") and not store.exists("docs/b.txt")


def test_put_replaces_and_accepts_streams_and_empty_objects(store: ObjectStore):
    store.put("k", b"old")
    store.put("k", io.BytesIO(b"new content"))
    assert store.read_bytes("k") == b"new content"
    store.put("empty", b"")
    assert store.head("empty").size == 0 and store.read_bytes("empty") == b""


def test_unicode_keys_round_trip(store: ObjectStore):
    keys = ["写真/東京-🗼.jpg", "données/résumé.docx", "e\u0301", "with space/and+plus&amp.pdf"]
    for key in keys:
        store.put(key, key.encode())
    assert [store.read_bytes(k) for k in keys] == [k.encode() for k in keys]
    assert sorted(i.key for i in store.list()) == sorted(keys)


def test_streaming_get_of_a_multi_megabyte_object(store: ObjectStore):
    block = bytes(range(256)) * 4096  # 1 MiB
    store.put("big.bin", io.BytesIO(block * 12))
    digest, largest = hashlib.sha256(), 0
    with store.get("big.bin") as stream:
        while chunk := stream.read(64 * 1024):
            largest = max(largest, len(chunk))
            digest.update(chunk)
    assert largest == 64 * 1024
    assert digest.hexdigest() == hashlib.sha256(block * 12).hexdigest()
    assert store.sha256("big.bin") == digest.hexdigest()


def test_read_bytes_refuses_more_than_max_bytes(store: ObjectStore):
    store.put("k", b"x" * 100)
    assert store.read_bytes("k", max_bytes=100) == b"x" * 100
    with pytest.raises(ObjectTooLarge, match="limit of 99 bytes"):
        store.read_bytes("k", max_bytes=99)


def test_missing_objects(store: ObjectStore):
    with pytest.raises(ObjectNotFound, match=r"missing\.txt"):
        store.head("missing.txt")
    with pytest.raises(ObjectNotFound), store.get("missing.txt"):
        pass
    with pytest.raises(ObjectNotFound):
        store.copy("missing.txt", "b")
    store.delete("missing.txt")  # idempotent
    store.delete("no/such/folder/x")


def test_list_is_sorted_and_filtered_by_prefix(store: ObjectStore):
    keys = ["a-c", "a/b", "a/c/d", "a.txt", "a0", "b", "ab/x", "a/cd"]
    for key in keys:
        store.put(key, key.encode())
    assert [i.key for i in store.list()] == sorted(keys)
    assert [i.key for i in store.list("a/")] == ["a/b", "a/c/d", "a/cd"]
    assert [i.key for i in store.list("a/c")] == ["a/c/d", "a/cd"]
    assert [i.key for i in store.list("a")] == sorted(k for k in keys if k.startswith("a"))
    assert list(store.list("zzz/")) == []
    info = next(iter(store.list("b")))
    assert (info.size, info.etag) == (1, md5(b"b"))


def test_copy_keeps_content_type_and_metadata(store: ObjectStore):
    store.put("src", b"data", content_type="application/pdf", metadata={"owner": "ops"})
    info = store.copy("src", "dst/copy")
    assert info.size == 4 and store.read_bytes("dst/copy") == b"data"
    head = store.head("dst/copy")
    assert head.content_type == "application/pdf" and dict(head.metadata) == {"owner": "ops"}
    assert store.read_bytes("src") == b"data"


def test_copy_if_absent_never_overwrites(store: ObjectStore):
    store.put("src", b"new")
    store.put("dst", b"precious")
    with pytest.raises(ObjectExists, match="dst"):
        store.copy("src", "dst", if_absent=True)
    assert store.read_bytes("dst") == b"precious"
    store.copy("src", "dst2", if_absent=True)
    assert store.read_bytes("dst2") == b"new"


def test_put_if_absent(store: ObjectStore):
    first = store.put_if_absent("once", b"first", metadata={"n": "1"})
    with pytest.raises(ObjectExists, match="once"):
        store.put_if_absent("once", b"second")
    with pytest.raises(ObjectExists):
        store.put_if_absent("once", io.BytesIO(b"second"))
    head = store.head("once")
    assert head.etag == first.etag and dict(head.metadata) == {"n": "1"}
    assert store.read_bytes("once") == b"first"


def test_delete(store: ObjectStore):
    store.put("d/x", b"1")
    store.delete("d/x")
    assert not store.exists("d/x")
    assert list(store.list()) == []
    store.delete("d/x")


def test_move_round_trip(store: ObjectStore):
    store.put("incoming/f.pdf", b"%PDF", content_type="application/pdf")
    info = store.move("incoming/f.pdf", "processed/f.pdf")
    assert info.key == "processed/f.pdf" and info.size == 4
    assert not store.exists("incoming/f.pdf")
    assert store.read_bytes("processed/f.pdf") == b"%PDF"
    assert store.head("processed/f.pdf").content_type == "application/pdf"


def test_uri_and_probe(store: ObjectStore):
    if isinstance(store, LocalObjectStore):
        assert store.uri("a b/c.txt") == (store.root / "a b" / "c.txt").as_uri()
        assert store.uri("a b/c.txt").startswith("file:///")
    else:
        assert store.uri("a/b.txt") == f"s3://{store.bucket}/tenant/zone/a/b.txt"
    assert store.probe()


HOSTILE = ["../x", "/abs", "a\x00b", "a\nb", "a//b", "x" * 1025, "a\\b"]


@pytest.mark.parametrize("key", HOSTILE, ids=repr)
def test_every_method_refuses_hostile_keys(store: ObjectStore, key):
    calls = [
        lambda: store.put(key, b"x"),
        lambda: store.put_if_absent(key, b"x"),
        lambda: store.get(key).__enter__(),
        lambda: store.read_bytes(key),
        lambda: store.head(key),
        lambda: store.exists(key),
        lambda: store.copy("ok", key),
        lambda: store.copy(key, "ok2"),
        lambda: store.move("ok", key),
        lambda: store.move(key, "ok2"),
        lambda: store.delete(key),
        lambda: store.uri(key),
    ]
    store.put("ok", b"safe")
    for call in calls:
        with pytest.raises(InvalidKey):
            call()
    assert [i.key for i in store.list()] == ["ok"]  # nothing written, nothing lost


def test_bad_data_and_metadata_are_refused(store: ObjectStore):
    with pytest.raises(TypeError, match="bytes or a binary stream"):
        store.put("k", "text is not bytes")  # type: ignore[arg-type]
    with pytest.raises(Exception, match="ASCII"):
        store.put("k", b"x", metadata={"name": "café"})
    with pytest.raises(Exception, match="control character"):
        store.put("k", b"x", metadata={"name": "a\r\nInjected: 1"})
    assert not store.exists("k")


def test_list_refuses_bad_page_size_and_prefix(store: ObjectStore):
    with pytest.raises(ValueError, match="page_size"):
        store.list(page_size=0)
    with pytest.raises(InvalidKey):
        store.list("../")


def md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()
