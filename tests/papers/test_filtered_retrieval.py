"""Metadata filters in retrieval: k results when k exist (a collection of 1% of a domain),
and collection + year range + tag (+ author, identifier) correct against a brute-force
reference on random data (hypothesis), in both legs and in the listing."""

from __future__ import annotations

import random
import shutil
import tempfile
from pathlib import Path

import pytest
from catalog_helpers import add_documents, describe, put_in_collection, random_vector
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tidyllm.knowledge import catalog
from tidyllm.knowledge.catalog import DocumentFilter, document_filter, list_catalog
from tidyllm.knowledge.collections import CollectionNotFound
from tidyllm.knowledge.search import search


@pytest.fixture(scope="module")
def big(module_database):
    """1,000 documents of 2 chunks; 'rare' holds 10 of them (1%), tagged and dated."""
    from tidyllm.session import UnifiedSessionManager

    root = Path(tempfile.mkdtemp(prefix="tidyllm-papers-"))
    try:
        with UnifiedSessionManager(data_dir=root, database={"url": module_database}) as sm:
            ids = add_documents(sm, "big", 1000, chunks=2, seed=1)
            rare = random.Random(7).sample(ids, 10)
            put_in_collection(sm, "big", "rare", rare)
            describe(sm, {doc: {"year": 2021, "tags": ["rare"]} for doc in rare})
            with sm.connection() as conn:
                conn.execute("ANALYZE chunks")
            yield sm, ids, set(rare)
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.mark.parametrize("mode", ["dense", "hybrid", "text"])
def test_a_collection_of_one_percent_still_returns_k(big, mode) -> None:
    sm, _, rare = big
    where = document_filter(collection="rare")
    result = search(
        sm, "big", "apple river", k=15, mode=mode, query_vector=random_vector(3), where=where
    )
    assert len(result.hits) == 15  # 10 documents x 2 chunks = 20 match
    assert {h.document_id for h in result.hits} <= rare
    if mode == "dense":  # exact order: the 20 nearest of the 30 matching chunks
        sims = [h.dense_similarity for h in result.hits]
        assert sims == sorted(sims, reverse=True)
    combined = document_filter(collection="rare", tags=["rare"], years="2020..2022")
    again = search(
        sm, "big", "apple", k=20, mode=mode, query_vector=random_vector(3), where=combined
    )
    assert len(again.hits) == 20 and {h.document_id for h in again.hits} == rare


def test_a_filter_matching_nothing_returns_nothing_and_an_unknown_collection_says_so(big) -> None:
    sm, _, _ = big
    none = document_filter(tags=["rare"], years="1990")
    assert search(sm, "big", "apple", k=5, query_vector=random_vector(1), where=none).hits == []
    with pytest.raises(CollectionNotFound, match=r"no collection 'nope' in domain 'big'.*rare"):
        search(sm, "big", "apple", where=document_filter(collection="nope"))


# --- brute force ------------------------------------------------------------------------------

TAGS = ["ml", "risk", "fed", "survey"]
AUTHORS = ["Ada Lovelace", "Alan Turing", "Grace Hopper", "Émile Borel", "ALAN KAY"]

doc_meta = st.fixed_dictionaries(
    {
        "year": st.one_of(st.none(), st.integers(2015, 2024)),
        "tags": st.lists(st.sampled_from(TAGS), unique=True, max_size=3),
        "authors": st.lists(st.sampled_from(AUTHORS), unique=True, max_size=2),
        "in_a": st.booleans(),
        "in_b": st.booleans(),
    }
)
filters = st.fixed_dictionaries(
    {
        "collection": st.sampled_from([None, "a", "b"]),
        "tags": st.lists(st.sampled_from(TAGS), unique=True, max_size=2),
        "author": st.sampled_from([None, "alan", "HOPPER", "émile", "a t", "zz"]),
        "years": st.one_of(
            st.none(),
            st.tuples(st.integers(2014, 2025), st.integers(0, 4)).map(
                lambda t: f"{t[0]}..{t[0] + t[1]}"
            ),
            st.integers(2015, 2024).map(lambda y: f"..{y}"),
        ),
        "identifier": st.sampled_from([None, "doi:10.1000/X1", "arxiv:2401.00002"]),
    }
)


def _expected(docs: dict[int, dict], f: dict) -> set[int]:
    out = set()
    for number, (doc, m) in enumerate(docs.items()):
        if (f["collection"] == "a" and not m["in_a"]) or (f["collection"] == "b" and not m["in_b"]):
            continue
        if not set(f["tags"]) <= set(m["tags"]):
            continue
        if f["author"] and not any(f["author"].lower() in a.lower() for a in m["authors"]):
            continue
        if f["years"]:
            low, _, high = f["years"].partition("..")
            if m["year"] is None:
                continue
            if (low and m["year"] < int(low)) or (high and m["year"] > int(high)):
                continue
        if f["identifier"] == "doi:10.1000/X1" and number % 7 != 1:  # doi 10.1000/x1 (case)
            continue
        if f["identifier"] == "arxiv:2401.00002" and number % 7 != 2:
            continue
        out.add(doc)
    return out


@pytest.fixture
def scratch(sm):
    ids = add_documents(sm, "bf", 24, chunks=1, seed=5)
    put_in_collection(sm, "bf", "a", [])
    put_in_collection(sm, "bf", "b", [])
    return sm, ids


def _list_all(sm, where, window: int) -> list[int]:
    """Every page of 5 (keyset: nothing repeated, nothing skipped) with this scan window."""
    saved, catalog.SCAN_WINDOW = catalog.SCAN_WINDOW, window
    try:
        listed, cursor = [], None
        while True:
            page = list_catalog(sm, "bf", where=where, limit=5, cursor=cursor)
            listed += [e.id for e in page.documents]
            if page.next_cursor is None:
                return listed
            cursor = page.next_cursor
    finally:
        catalog.SCAN_WINDOW = saved


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(metas=st.lists(doc_meta, min_size=24, max_size=24), queries=st.lists(filters, max_size=4))
def test_combined_filters_match_brute_force(scratch, metas, queries) -> None:
    sm, ids = scratch
    docs = dict(zip(ids, metas, strict=True))
    with sm.connection() as conn, conn.transaction():
        conn.execute("DELETE FROM collection_documents")
        for number, (doc, m) in enumerate(docs.items()):
            values = {"year": m["year"], "tags": m["tags"], "authors": m["authors"]}
            values["doi"] = "10.1000/x1" if number % 7 == 1 else None
            values["arxiv_id"] = "2401.00002" if number % 7 == 2 else None
            for name, key in (("a", "in_a"), ("b", "in_b")):
                if m[key]:
                    conn.execute(
                        "INSERT INTO collection_documents (collection_id, document_id) "
                        "SELECT id, %s FROM collections WHERE name = %s",
                        (doc, name),
                    )
            from tidyllm.knowledge.metadata import write_layer

            write_layer(conn, doc, "sidecar", values, replace=True)
    for f in queries:
        where = document_filter(**f)
        expected = _expected(docs, f)
        for window in (catalog.SCAN_WINDOW, 3):  # 3: the selective path's plans too
            listed = _list_all(sm, where, window)
            assert len(listed) == len(set(listed)) and set(listed) == expected, (window, f)
            assert listed == sorted(listed, reverse=True)
        for mode, max_ids in (("dense", 1000), ("text", 1000), ("dense", 2), ("text", 2)):
            # max_ids 2: a filter matching more is checked per candidate chunk (EXISTS)
            saved, catalog.MAX_ID_LIST = catalog.MAX_ID_LIST, max_ids
            try:
                result = search(
                    sm, "bf", "apple", k=100, mode=mode, query_vector=random_vector(2), where=where
                )
            finally:
                catalog.MAX_ID_LIST = saved
            assert {h.document_id for h in result.hits} == expected, (mode, max_ids, f)


def test_an_empty_filter_is_no_filter() -> None:
    assert document_filter().empty and DocumentFilter().describe() == {}
    assert document_filter(tags=[]).empty
