"""Whole-domain orders of ``list_documents`` on many documents with ties, untitled ones,
non-ASCII and long titles, while documents are added and deleted between pages: every
document there from start to end comes exactly once, in the order of one whole listing."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from tidyllm.errors import InvalidCursor, KnowledgeError
from tidyllm.knowledge import create_domain
from tidyllm.knowledge.documents import ORDERS, list_documents

TITLES = [None, "", "alpha", "Alpha", "ALPHA", "beta", "Zürich ✓", "zeta", "é", "日本語"]
BASE = datetime(2026, 1, 1, tzinfo=UTC)


def add_document(sm, domain_id: int, rng: random.Random) -> int:
    title = rng.choice([*TITLES, "x" * rng.randint(60, 300)])  # long: the key is 64 chars
    with sm.connection() as conn:
        return conn.execute(
            "INSERT INTO documents (domain_id, source_uri, version, content_hash, title, "
            "page_count, chunk_count, indexed_at) VALUES (%s, %s, '1', 'h', %s, %s, %s, %s) "
            "RETURNING id",
            (
                domain_id,
                f"mem://{uuid.uuid4().hex}",
                title,
                rng.randint(0, 3),  # many ties
                rng.randint(0, 3),
                BASE + timedelta(seconds=rng.randint(0, 5)),
            ),
        ).fetchone()[0]


def all_ids(sm, order: str) -> list[int]:
    return [d.id for d in list_documents(sm, "many", order=order, limit=200).documents]


@pytest.mark.parametrize("seed", [1, 2])
def test_every_order_pages_through_changes_without_repeats_or_gaps(sm, seed: int) -> None:
    rng = random.Random(seed)
    domain = create_domain(sm, "many")
    ids = [add_document(sm, domain.id, rng) for _ in range(60)]
    deleted: set[int] = set()  # over every order's run
    for order in ORDERS:
        seen, cursor = [], None
        while True:
            page = list_documents(sm, "many", order=order, limit=rng.randint(1, 9), cursor=cursor)
            seen += [d.id for d in page.documents]
            cursor = page.next_cursor
            if cursor is None:
                break
            ids.append(add_document(sm, domain.id, rng))  # someone adds one meanwhile
            if rng.random() < 0.3:
                victim = rng.choice([i for i in ids if i not in deleted])
                with sm.connection() as conn:
                    conn.execute("DELETE FROM documents WHERE id = %s", (victim,))
                deleted.add(victim)
        assert len(seen) == len(set(seen)), order  # no repeats
        whole = all_ids(sm, order)  # the order now, of what is still there
        kept = [i for i in seen if i not in deleted]
        assert kept == [i for i in whole if i in set(kept)], order  # in order
        stayed = {i for i in ids[:60] if i not in deleted}
        assert stayed <= set(seen), order  # no gaps: every document there all along


def test_ties_go_by_id_in_the_orders_direction_and_cursors_stay_bound(sm) -> None:
    domain = create_domain(sm, "many")
    rng = random.Random(3)
    for _ in range(10):
        add_document(sm, domain.id, rng)
    docs = {d.id: d for d in list_documents(sm, "many", limit=200).documents}
    for order in ("pages", "-pages", "chunks", "-chunks", "indexed_at", "-indexed_at"):
        field = order.lstrip("-")
        keys = [(getattr(docs[i], field), i) for i in all_ids(sm, order)]
        assert keys == sorted(keys, reverse=order.startswith("-"))
    first = list_documents(sm, "many", order="title", limit=2)
    with pytest.raises(InvalidCursor):
        list_documents(sm, "many", order="-title", limit=2, cursor=first.next_cursor)
    with pytest.raises(InvalidCursor):
        list_documents(sm, "many", limit=2, cursor=first.next_cursor)
    for hostile in ("id", "title DESC", "-", "", 5, ["title"]):
        with pytest.raises(KnowledgeError):
            list_documents(sm, "many", order=hostile)  # type: ignore[arg-type]
