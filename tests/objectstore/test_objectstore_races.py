"""put_if_absent and copy(if_absent) under real concurrency: exactly one writer wins."""

from __future__ import annotations

import threading

from tidyllm.errors import ObjectExists
from tidyllm.objectstore import ObjectStore

ROUNDS = 15


def _race(store: ObjectStore, key: str, writer) -> list[str]:
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def run(name: str) -> None:
        barrier.wait()
        try:
            writer(name)
            outcomes.append(name)
        except ObjectExists:
            outcomes.append("lost")

    threads = [threading.Thread(target=run, args=(n,)) for n in ("one", "two")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return outcomes


def test_put_if_absent_race_has_exactly_one_winner(store: ObjectStore):
    for i in range(ROUNDS):
        key = f"race/{i}"
        outcomes = _race(
            store, key, lambda name, key=key: store.put_if_absent(key, name.encode() * 1000)
        )
        winners = [o for o in outcomes if o != "lost"]
        assert len(winners) == 1, outcomes
        assert store.read_bytes(key) == winners[0].encode() * 1000


def test_copy_if_absent_race_has_exactly_one_winner(store: ObjectStore):
    store.put("one", b"1" * 1000)
    store.put("two", b"2" * 1000)
    for i in range(ROUNDS):
        key = f"race/{i}"
        outcomes = _race(store, key, lambda name, key=key: store.copy(name, key, if_absent=True))
        winners = [o for o in outcomes if o != "lost"]
        assert len(winners) == 1, outcomes
        assert store.read_bytes(key) == (b"1" if winners[0] == "one" else b"2") * 1000
