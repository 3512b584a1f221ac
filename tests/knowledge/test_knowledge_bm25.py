"""BM25 in PostgreSQL against a brute-force reference, on random corpora (hypothesis).

The reference recomputes everything from the chunks themselves - their ``tsvector``
lexemes and positions - so it checks both the scoring SQL and the term statistics the
triggers keep (migration 0006), including after deletes and re-indexing. Chunks are
written with plain SQL and a constant embedding: the full-text leg is what is under test.
"""

from __future__ import annotations

import math
import threading
import uuid
from collections import Counter

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pgvector import HalfVector

from tidyllm.knowledge import create_domain
from tidyllm.knowledge.search import search
from tidyllm.settings import SearchSettings

WORDS = ["apple", "river", "stone", "cloud", "metal", "green", "tiger", "piano", "lemon"]
WORDS += ["ocean", "robot", "candle", "capital", "ledger", "audit"]
# max_per_page 100: no reordering (a document has <= 5 chunks, all on page 1)
TUNING = SearchSettings(bm25_k1=1.2, bm25_b=0.75, max_per_page=100)

chunk_text = st.lists(st.sampled_from(WORDS), min_size=1, max_size=25).map(" ".join)
document = st.lists(chunk_text, min_size=1, max_size=5)
operation = st.tuples(st.sampled_from(["index", "delete"]), st.integers(0, 4), document)


def _write_document(conn, domain_id: int, name: str, texts: list[str]) -> None:
    """Replace document ``name`` with chunks ``texts`` (as index_document does: delete, insert)."""
    row = conn.execute(
        "INSERT INTO documents (domain_id, source_uri, version, content_hash) "
        "VALUES (%s, %s, '1', %s) ON CONFLICT (domain_id, source_uri) "
        "DO UPDATE SET version = documents.version RETURNING id",
        (domain_id, name, uuid.uuid4().hex),
    ).fetchone()
    conn.execute("DELETE FROM chunks WHERE document_id = %s", (row[0],))
    vector = HalfVector(np.full(384, 0.05, dtype=np.float32))
    for ordinal, text in enumerate(texts):
        conn.execute(
            "INSERT INTO chunks (domain_id, document_id, ordinal, page, start_char, end_char, "
            "token_count, text, dimension, embedding, language) "
            "VALUES (%s, %s, %s, 1, 0, %s, 1, %s, 384, %s, 'english')",
            (domain_id, row[0], ordinal, len(text), text, vector),
        )


def _delete_document(conn, domain_id: int, name: str) -> None:
    conn.execute(
        "DELETE FROM documents WHERE domain_id = %s AND source_uri = %s", (domain_id, name)
    )


def _reference(conn, domain_id: int, query: str, k1: float, b: float) -> dict[int, float]:
    """BM25 of every chunk holding a query lexeme, from the chunks' own lexemes."""
    rows = conn.execute(
        "SELECT c.id, u.lexeme, cardinality(u.positions) FROM chunks c, unnest(c.tsv) u "
        "WHERE c.domain_id = %s",
        (domain_id,),
    ).fetchall()
    terms = {r[0] for r in conn.execute("SELECT lexeme FROM unnest(to_tsvector(%s))", (query,))}
    tf: dict[int, Counter[str]] = {}
    for chunk_id, lexeme, count in rows:
        tf.setdefault(chunk_id, Counter())[lexeme] = count
    n = len(tf)
    lengths = {c: sum(counts.values()) for c, counts in tf.items()}
    average = sum(lengths.values()) / n if n else 1.0
    df = Counter(lexeme for counts in tf.values() for lexeme in counts)
    scores: dict[int, float] = {}
    for chunk_id, counts in tf.items():
        if not terms & set(counts):
            continue
        score = 0.0
        for term in terms & set(counts):
            idf = math.log(1 + (n - df[term] + 0.5) / (df[term] + 0.5))
            f = counts[term]
            score += idf * f * (k1 + 1) / (f + k1 * (1 - b + b * lengths[chunk_id] / average))
        scores[chunk_id] = score
    return scores


def _assert_statistics_match(conn, domain_id: int) -> None:
    """The trigger-kept statistics equal the ones recomputed from the chunks."""
    kept = dict(
        conn.execute(
            "SELECT lexeme, chunks FROM lexeme_stats WHERE domain_id = %s", (domain_id,)
        ).fetchall()
    )
    fresh = dict(
        conn.execute(
            "SELECT u.lexeme, count(*) FROM chunks c, unnest(c.tsv) u WHERE c.domain_id = %s "
            "GROUP BY u.lexeme",
            (domain_id,),
        ).fetchall()
    )
    assert kept == fresh
    totals = conn.execute(
        "SELECT count(*), coalesce(sum(tidyllm_token_count(tsv)), 0) FROM chunks "
        "WHERE domain_id = %s",
        (domain_id,),
    ).fetchone()
    stats = conn.execute(
        "SELECT chunks, tokens FROM domain_text_stats WHERE domain_id = %s", (domain_id,)
    ).fetchone() or (0, 0)
    assert tuple(stats) == tuple(totals)


@pytest.fixture
def bm25_domain(sm):
    create_domain(sm, "bm25")
    with sm.connection() as conn:
        domain_id = conn.execute("SELECT id FROM domains WHERE name = 'bm25'").fetchone()[0]
    return sm, domain_id


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    operations=st.lists(operation, min_size=1, max_size=8),
    queries=st.lists(st.lists(st.sampled_from(WORDS), min_size=1, max_size=4), max_size=4),
    k1=st.sampled_from([0.5, 1.2, 2.0]),
    b=st.sampled_from([0.0, 0.75, 1.0]),
)
def test_bm25_matches_brute_force_after_indexing_deletes_and_reindexing(
    bm25_domain, operations, queries, k1, b
) -> None:
    sm, domain_id = bm25_domain
    with sm.connection() as conn:
        conn.execute("DELETE FROM documents WHERE domain_id = %s", (domain_id,))
        for action, number, texts in operations:
            if action == "index":
                _write_document(conn, domain_id, f"doc-{number}", texts)
            else:
                _delete_document(conn, domain_id, f"doc-{number}")
        conn.commit()
        _assert_statistics_match(conn, domain_id)
        tuning = TUNING.model_copy(update={"bm25_k1": k1, "bm25_b": b})
        for words in queries:
            query = " ".join(words)
            expected = _reference(conn, domain_id, query, k1, b)
            result = search(sm, "bm25", query, mode="text", k=1000, tuning=tuning)
            got = {h.chunk_id: h.text_score for h in result.hits}
            assert got.keys() == expected.keys()
            for chunk_id, score in expected.items():
                assert got[chunk_id] == pytest.approx(score, rel=1e-9, abs=1e-12)
            ranked = [h.text_score for h in result.hits]
            assert ranked == sorted(ranked, reverse=True)


def test_a_query_without_any_domain_term_has_no_full_text_leg(bm25_domain) -> None:
    sm, domain_id = bm25_domain
    with sm.connection() as conn:
        _write_document(conn, domain_id, "doc", ["apple river stone"])
    assert search(sm, "bm25", "zebra quantum", mode="text").hits == []
    (hit,) = search(sm, "bm25", "zebra apple", mode="text").hits
    assert hit.text_score and hit.text_score > 0


def test_deleting_a_domain_takes_its_statistics_along(bm25_domain) -> None:
    from tidyllm.knowledge import delete_domain

    sm, domain_id = bm25_domain
    with sm.connection() as conn:
        _write_document(conn, domain_id, "doc", ["apple river stone", "stone cloud"])
    delete_domain(sm, "bm25")
    with sm.connection() as conn:
        counts = conn.execute(
            "SELECT (SELECT count(*) FROM lexeme_stats), (SELECT count(*) FROM domain_text_stats)"
        ).fetchone()
        assert tuple(counts) == (0, 0)


def test_concurrent_writers_to_one_domain_keep_the_statistics_exact(bm25_domain) -> None:
    """Two connections replacing documents of one domain at once: no deadlock, exact counts."""
    sm, domain_id = bm25_domain
    errors: list[BaseException] = []
    rounds = 25

    def writer(name: str, seed: int) -> None:
        rng = np.random.default_rng(seed)
        try:
            for _ in range(rounds):
                texts = [" ".join(rng.choice(WORDS, size=8)) for _ in range(3)]
                with sm.connection() as conn, conn.transaction():
                    _write_document(conn, domain_id, name, texts)
                    if rng.random() < 0.3:
                        _delete_document(conn, domain_id, name)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(f"doc-{i}", i)) for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with sm.connection() as conn:
        _assert_statistics_match(conn, domain_id)


def test_a_pages_chunks_beyond_the_cap_move_behind_other_pages(bm25_domain) -> None:
    sm, domain_id = bm25_domain
    with sm.connection() as conn:
        _write_document(conn, domain_id, "crowded", ["apple apple apple"] * 4)
        _write_document(conn, domain_id, "other", ["apple river stone cloud metal green"])
    by_score = search(sm, "bm25", "apple", mode="text", k=5, tuning=TUNING).hits
    assert [h.source_uri for h in by_score] == ["crowded"] * 4 + ["other"]
    capped = TUNING.model_copy(update={"max_per_page": 2})
    hits = search(sm, "bm25", "apple", mode="text", k=5, tuning=capped).hits
    assert [h.source_uri for h in hits] == ["crowded", "crowded", "other", "crowded", "crowded"]
    assert {h.chunk_id for h in hits} == {h.chunk_id for h in by_score}
