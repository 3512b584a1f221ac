"""S3-only behaviour against a real moto server over HTTP."""

from __future__ import annotations

import hashlib
import io
from concurrent.futures import ThreadPoolExecutor

import pytest

from services import MotoS3
from tidyllm.errors import ObjectExists, ServiceUnavailable
from tidyllm.objectstore import S3ObjectStore, is_valid_key

MiB = 1024 * 1024
CANARY = "testing"  # the fake secret key: must never show up in an error message


def test_list_paginates_over_more_than_1000_keys(s3_client, bucket):
    store = S3ObjectStore(s3_client, bucket, prefix="z")
    keys = [f"in/{i:05d}" for i in range(1105)] + [f"other/{i}" for i in range(5)]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda k: s3_client.put_object(Bucket=bucket, Key="z/" + k, Body=b"x"), keys))
    calls: list[int] = []
    s3_client.meta.events.register("before-call.s3.ListObjectsV2", lambda **_: calls.append(1))
    try:
        listing = store.list("in/", page_size=250)
        first = next(listing)
        assert first.key == "in/00000" and len(calls) == 1  # lazily fetched, page by page
        rest = [i.key for i in listing]
    finally:
        s3_client.meta.events.unregister("before-call.s3.ListObjectsV2")
    assert [first.key, *rest] == sorted(k for k in keys if k.startswith("in/"))
    assert len(calls) == 5  # ceil(1105 / 250)
    assert [i.key for i in store.list("other/", page_size=2)] == [f"other/{i}" for i in range(5)]


def test_listing_yields_foreign_keys_but_skips_folder_markers(s3_client, bucket):
    s3_client.put_object(Bucket=bucket, Key="incoming/", Body=b"")  # console "folder"
    s3_client.put_object(Bucket=bucket, Key="incoming/evil\\name.pdf", Body=b"x")
    s3_client.put_object(Bucket=bucket, Key="incoming/ok.pdf", Body=b"x")
    keys = [i.key for i in S3ObjectStore(s3_client, bucket).list("incoming/")]
    assert keys == ["incoming/evil\\name.pdf", "incoming/ok.pdf"]
    assert [is_valid_key(k) for k in keys] == [False, True]


def test_streamed_multipart_put_and_put_if_absent(s3_client, bucket):
    store = S3ObjectStore(s3_client, bucket, part_size=5 * MiB)
    payload = hashlib.sha256(b"seed").digest() * (11 * MiB // 32)
    info = store.put("mp/put", io.BytesIO(payload), content_type="application/x-test")
    assert info.size == len(payload) and info.etag.endswith("-3")
    created = store.put_if_absent("mp/once", io.BytesIO(payload), metadata={"a": "b"})
    assert created.size == len(payload) and created.etag.endswith("-3")
    assert dict(store.head("mp/once").metadata) == {"a": "b"}
    with pytest.raises(ObjectExists):
        store.put_if_absent("mp/once", io.BytesIO(b"other" * (2 * MiB)))
    assert store.sha256("mp/once") == hashlib.sha256(payload).hexdigest()
    uploads = s3_client.list_multipart_uploads(Bucket=bucket).get("Uploads", [])
    assert uploads == []  # the refused upload was aborted, not left behind


def test_large_copy_is_server_side_multipart_and_move_verifies_it(s3_client, bucket):
    store = S3ObjectStore(
        s3_client, bucket, part_size=5 * MiB, inline_copy_max=1 * MiB, copy_part_size=5 * MiB
    )
    one_part = b"a" * (3 * MiB)
    store.put("one", one_part, metadata={"x": "1"})
    single = store.copy("one", "one-copy", if_absent=True)
    assert single.etag.endswith("-1") and store.same_content(store.head("one"), single)
    three_parts = b"b" * (12 * MiB)
    store.put("three", three_parts, content_type="application/pdf")
    moved = store.move("three", "moved/three")
    assert moved.etag.endswith("-3") and moved.content_type == "application/pdf"
    assert store.sha256("moved/three") == hashlib.sha256(three_parts).hexdigest()
    assert not store.exists("three")
    store.put("other", b"c" * (12 * MiB))
    with pytest.raises(ObjectExists):
        store.move("other", "moved/three")
    assert store.exists("other")


def test_probe_on_a_missing_bucket(s3_client):
    store = S3ObjectStore(s3_client, "no-such-bucket-here")
    with pytest.raises(ServiceUnavailable, match=r"no-such-bucket-here.*does not exist"):
        store.probe()
    with pytest.raises(ServiceUnavailable, match="does not exist"):
        store.put("k", b"x")


def test_probe_never_lists_buckets(s3_client, bucket):
    seen: list[str] = []
    s3_client.meta.events.register("before-call.s3", lambda model, **_: seen.append(model.name))
    try:
        assert "reachable" in S3ObjectStore(s3_client, bucket, prefix="p").probe()
    finally:
        s3_client.meta.events.unregister("before-call.s3")
    assert seen == ["HeadBucket", "ListObjectsV2"]


def test_endpoint_down_is_service_unavailable(tmp_path, make_s3_client):
    server = MotoS3(tmp_path / "moto")  # our own server: stopping it disturbs no one
    server.start()
    try:
        client = make_s3_client(server.url, attempts=1)
        client.create_bucket(Bucket="bkt")
        store = S3ObjectStore(client, "bkt", prefix="p")
        store.put("k", b"before")
        store.put("big", b"z" * (24 * MiB))
        with store.get("big") as stream:
            assert stream.read(MiB) == b"z" * MiB
            server.stop()  # the endpoint dies mid-download
            with pytest.raises(ServiceUnavailable, match="s3://bkt/p/big"):
                while stream.read(MiB):
                    pass
        for call in (
            lambda: store.head("k"),
            lambda: store.put("k", b"x"),
            store.probe,
            lambda: list(store.list()),
        ):
            with pytest.raises(ServiceUnavailable) as info:
                call()
            message = str(info.value)
            assert message.startswith("s3 is unavailable") and CANARY not in message
        with pytest.raises(ServiceUnavailable, match="s3://bkt/p/k"):
            store.head("k")
        server.start()  # moto keeps state in memory: the bucket is gone after a restart
        with pytest.raises(ServiceUnavailable, match="does not exist"):
            store.probe()
        client.create_bucket(Bucket="bkt")
        store.put("k", b"after")
        assert store.read_bytes("k") == b"after"
        client.close()
    finally:
        server.stop()


def test_constructor_refuses_bad_configuration(s3_client):
    with pytest.raises(ValueError, match="bucket name"):
        S3ObjectStore(s3_client, "Bad_Bucket!")
    with pytest.raises(ValueError):
        S3ObjectStore(s3_client, "bkt", prefix="../up")
    with pytest.raises(ValueError, match="at least"):
        S3ObjectStore(s3_client, "bkt", part_size=1024)
