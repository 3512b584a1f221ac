"""Hybrid search: modes, filters that still return k, hostile queries."""

from __future__ import annotations

import numpy as np
import pytest
from pgvector import HalfVector
from psycopg.types.json import Jsonb

from tidyllm.errors import SearchError
from tidyllm.extraction import ExtractedDocument, Page
from tidyllm.knowledge import create_domain, index_document, search

TEXTS = {
    "capital": "Banks must hold enough capital to survive a severe recession scenario.",
    "validation": "Independent reviewers validate each supervisory stress testing model.",
    "inventory": "The model inventory lists inputs, outputs and the date of the last update.",
    "weather": "Tomorrow will be sunny with a light breeze from the west.",
    "russian": "Стресс-тестирование банков проводится ежегодно.",
}


@pytest.fixture(scope="module")
def small(module_database, tmp_path_factory):
    """Five one-chunk documents in domain 'd', indexed once for the module (tests only read)."""
    from tidyllm.session import UnifiedSessionManager

    with UnifiedSessionManager(
        data_dir=tmp_path_factory.mktemp("data"), database={"url": module_database}
    ) as manager:
        _fill(manager)
        yield manager


def _fill(sm) -> None:
    create_domain(sm, "d")
    for name, text in TEXTS.items():
        index_document(
            sm,
            domain="d",
            document=ExtractedDocument(mime="text/plain", pages=(Page(1, text),)),
            source_uri=f"mem://{name}",
            version="1",
            content_hash=name,
            metadata={"topic": name, "lang": "ru" if name == "russian" else "en"},
        )


def test_each_mode_ranks_the_relevant_chunk_first(small) -> None:
    for mode in ("hybrid", "dense", "text"):
        result = search(small, "d", "who validates the stress testing models?", k=3, mode=mode)
        assert result.hits[0].source_uri == "mem://validation", mode
    hybrid = search(small, "d", "validate stress testing model", k=5)
    top = hybrid.hits[0]
    assert top.dense_rank == 1 and top.text_rank == 1 and top.page == 1
    assert top.text == TEXTS["validation"] and (top.start, top.end) == (0, len(top.text))
    assert len(hybrid.hits) == 5  # the dense leg returns every chunk: k results when k exist


def test_text_mode_returns_only_matching_chunks(small) -> None:
    result = search(small, "d", "breeze", mode="text", k=5)
    assert [h.source_uri for h in result.hits] == ["mem://weather"]


def test_metadata_filters_restrict_results(small) -> None:
    result = search(small, "d", "stress testing", k=5, filters={"lang": "ru"})
    assert [h.source_uri for h in result.hits] == ["mem://russian"]
    none = search(small, "d", "stress testing", k=5, filters={"lang": "fr"})
    assert none.hits == []


@pytest.mark.parametrize(
    "query",
    [
        "'; DROP TABLE chunks; --",
        "a & b | !c:* (d) <-> e \\ '' \"",
        "%(domain_id)s {dim} $1 ::tsquery",
        "Стресс-тестирование банков",
        "银行压力测试模型验证",
        "اختبار الضغط للبنوك",
        "🏦💥📉",
        "x\x00y capital",
        "capital " * 12_500,  # 100 KB
    ],
)
def test_hostile_queries_give_results(small, query: str) -> None:
    result = search(small, "d", query, k=3)
    assert len(result.hits) == 3
    with small.connection() as conn:
        assert conn.execute("SELECT count(*) FROM chunks").fetchone()[0] == len(TEXTS)


def test_non_latin_words_are_found_by_full_text(small) -> None:
    result = search(small, "d", "банков", mode="text")
    assert [h.source_uri for h in result.hits] == ["mem://russian"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"query": ""}, "empty"),
        ({"query": " \n\t "}, "empty"),
        ({"query": "\x00"}, "empty"),
        ({"query": None}, "must be text"),
        ({"query": "x" * 1_000_001}, "limit"),
        ({"k": 0}, "k must be"),
        ({"k": 10**6}, "k must be"),
        ({"k": True}, "k must be"),
        ({"mode": "fuzzy"}, "mode must be"),
        ({"filters": {"": "x"}}, "non-empty"),
        ({"filters": {"a": 1}}, "non-empty"),
        ({"filters": "a=b"}, "mapping"),
        ({"rrf_k": 0}, "rrf_k"),
    ],
)
def test_invalid_requests_are_clear_errors(data_dir, kwargs, message) -> None:
    from tidyllm.session import UnifiedSessionManager

    arguments = {"query": "capital"} | kwargs
    # Refused before any connection is made: the database URL points nowhere.
    with (
        UnifiedSessionManager(data_dir=data_dir, database={"url": "postgresql://nowhere/x"}) as m,
        pytest.raises(SearchError, match=message),
    ):
        search(m, "d", **arguments)


def test_a_filter_matching_one_percent_of_rows_returns_k(sm) -> None:
    """3,000 chunks in 100 tenants (1% each); k=10 with a tenant filter gives the exact top 10.

    The embeddings here are random unit vectors written straight into the table:
    this test is about the filtered index scan, not about retrieval quality.
    """
    create_domain(sm, "big")
    rng = np.random.default_rng(7)
    vectors = rng.normal(size=(3000, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    with sm.connection() as conn:
        domain_id, document_id = conn.execute(
            "WITH d AS (SELECT id FROM domains WHERE name = 'big') "
            "INSERT INTO documents (domain_id, source_uri, version, content_hash) "
            "SELECT id, 'mem://big', '1', 'h' FROM d RETURNING domain_id, id"
        ).fetchone()
        with (
            conn.cursor() as cur,
            cur.copy(
                "COPY chunks (domain_id, document_id, ordinal, page, start_char, end_char, "
                "token_count, text, metadata, dimension, embedding, language) FROM STDIN"
            ) as copy,
        ):
            for i, vector in enumerate(vectors):
                tenant = f"t{i % 100}"
                copy.write_row(
                    (
                        domain_id,
                        document_id,
                        i,
                        1,
                        0,
                        10,
                        3,
                        f"record {i} of {tenant}",
                        Jsonb({"tenant": tenant}),
                        384,
                        HalfVector(vector),
                        "english",
                    )
                )
        conn.execute("ANALYZE chunks")
    query = rng.normal(size=384).astype(np.float32)
    query /= np.linalg.norm(query)
    result = search(
        sm, "big", "record", k=10, mode="dense", filters={"tenant": "t7"}, query_vector=query
    )
    assert len(result.hits) == 10
    assert {h.metadata["tenant"] for h in result.hits} == {"t7"}
    members = np.arange(7, 3000, 100)
    exact = members[np.argsort(-(vectors[members] @ query))][:10]
    assert [h.text for h in result.hits] == [f"record {i} of t7" for i in exact]
    hybrid = search(sm, "big", "record", k=10, filters={"tenant": "t7"}, query_vector=query)
    assert len(hybrid.hits) == 10 and {h.metadata["tenant"] for h in hybrid.hits} == {"t7"}


def test_search_cli(small, module_database, data_dir, cli, monkeypatch) -> None:
    monkeypatch.setenv("TIDYLLM_DATA_DIR", str(data_dir))
    monkeypatch.setenv("TIDYLLM_DATABASE__URL", module_database)
    result = cli("search", "d", "who validates models?", "--k", "2", "--filter", "lang=en")
    assert result.exit_code == 0, result.output
    assert result.output.count("mem://") == 2 and "mem://validation" in result.output
    bad = cli("search", "d", "x", "--filter", "novalue")
    assert bad.exit_code == 1 and "key=value" in bad.output
    empty = cli("search", "d", "   ")
    assert empty.exit_code == 1 and "the query is empty" in empty.output
