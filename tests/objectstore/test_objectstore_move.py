"""move() is copy -> verify -> delete and is safe to repeat after a crash at any point.

Each "crash" is reproduced by doing the partial steps for real against the store,
then running move() again as a restarted worker would.
"""

from __future__ import annotations

import pytest

from tidyllm.errors import ObjectExists, ObjectNotFound, ObjectStoreError
from tidyllm.objectstore import ObjectStore


def test_crash_before_copy(store: ObjectStore):
    store.put("incoming/a", b"data")
    info = store.move("incoming/a", "processed/a")
    assert info.size == 4 and not store.exists("incoming/a")


def test_crash_after_copy_before_delete(store: ObjectStore):
    store.put("incoming/a", b"data", metadata={"k": "v"})
    store.copy("incoming/a", "processed/a", if_absent=True)  # the step that completed
    info = store.move("incoming/a", "processed/a")
    assert info.key == "processed/a"
    assert not store.exists("incoming/a")
    assert store.read_bytes("processed/a") == b"data"
    assert dict(store.head("processed/a").metadata) == {"k": "v"}


def test_crash_after_delete(store: ObjectStore):
    store.put("incoming/a", b"data")
    store.copy("incoming/a", "processed/a")
    store.delete("incoming/a")
    info = store.move("incoming/a", "processed/a")
    assert info.key == "processed/a" and info.size == 4


def test_repeated_move_is_a_no_op(store: ObjectStore):
    store.put("incoming/a", b"data")
    first = store.move("incoming/a", "processed/a")
    second = store.move("incoming/a", "processed/a")
    assert (first.etag, first.size) == (second.etag, second.size)
    assert [i.key for i in store.list()] == ["processed/a"]


def test_name_clash_with_different_content_never_overwrites(store: ObjectStore):
    store.put("incoming/a", b"new report")
    store.put("processed/a", b"older report")
    with pytest.raises(ObjectExists, match="different content"):
        store.move("incoming/a", "processed/a")
    assert store.read_bytes("incoming/a") == b"new report"
    assert store.read_bytes("processed/a") == b"older report"


def test_same_size_different_content_is_detected(store: ObjectStore):
    store.put("incoming/a", b"AAAA")
    store.put("processed/a", b"BBBB")
    with pytest.raises(ObjectExists):
        store.move("incoming/a", "processed/a")
    assert store.read_bytes("incoming/a") == b"AAAA"


def test_move_without_if_absent_replaces(store: ObjectStore):
    store.put("incoming/a", b"new")
    store.put("processed/a", b"old")
    store.move("incoming/a", "processed/a", if_absent=False)
    assert store.read_bytes("processed/a") == b"new" and not store.exists("incoming/a")


def test_move_when_neither_exists(store: ObjectStore):
    with pytest.raises(ObjectNotFound, match="neither"):
        store.move("incoming/a", "processed/a")


def test_move_onto_itself_keeps_the_object(store: ObjectStore):
    store.put("a", b"data")
    assert store.move("a", "a").size == 4
    assert store.read_bytes("a") == b"data"


def test_source_changed_during_move_is_not_deleted(store: ObjectStore):
    store.put("incoming/a", b"first drop")
    verified = store.head("incoming/a")
    store.copy("incoming/a", "processed/a")
    store.put("incoming/a", b"second drop, arrived mid-move")  # someone re-drops the file
    with pytest.raises(ObjectStoreError, match="changed"):
        store._delete_if_unchanged(verified)  # the move's final step
    assert store.read_bytes("incoming/a") == b"second drop, arrived mid-move"
