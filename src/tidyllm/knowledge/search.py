"""Hybrid search: pgvector cosine (HNSW) + BM25 over PostgreSQL full text, fused by rank.

Why it is built this way:

* **One statement, one snapshot.** Both legs and the fusion run as one SQL
  statement inside a REPEATABLE READ transaction, so a document being
  re-indexed concurrently is seen entirely old or entirely new.
* **Filters that still return k.** Domain and metadata filters are applied
  inside the HNSW scan with pgvector 0.8's iterative scans
  (``hnsw.iterative_scan = relaxed_order``, bounded by ``hnsw.max_scan_tuples``);
  the candidates are re-sorted by exact distance afterwards. If the index scan
  still yields fewer than ``k`` rows (a filter so selective the scan budget
  ran out), the dense leg is re-run as an exact scan over the filtered rows,
  so k results come back whenever k rows match. ``exact_fallback`` says so.
* **Document metadata filters** (collection, tags, author, year range, identifier: a
  :class:`~tidyllm.knowledge.catalog.DocumentFilter`) are resolved, in the same snapshot,
  to the matching document ids, which restrict *both* legs inside their scans
  (``document_id = ANY(ids)``; a filter matching more than
  :data:`~tidyllm.knowledge.catalog.MAX_ID_LIST` documents is checked per candidate
  chunk instead): the iterative scan and the exact fallback above hold for them as for
  the other filters, so a collection holding 1% of a domain still yields k.
* **BM25** for the full-text leg (see :mod:`tidyllm.knowledge.fulltext`): the
  candidates come from the GIN index, the scores from the chunks' own
  ``tsvector`` lexemes and the domain's term statistics.
* **Weighted RRF** (``weight / (rrf_k + rank)`` summed over the legs) needs no
  score calibration between cosine and BM25; ``rrf_k``, the leg weights and
  the candidate depth per leg are settings (``search.*``), chosen on the
  labelled sets' tuning questions (docs/knowledge.md).
* **Per-page diversity**: several chunks of one page would crowd out other
  pages, so a page's chunks beyond ``search.max_per_page`` move behind the
  chunks of other pages (they come back only when nothing else matches).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from pgvector import HalfVector
from psycopg import sql
from psycopg.types.json import Jsonb

from tidyllm.access.actor import Actor
from tidyllm.errors import SearchError
from tidyllm.knowledge.catalog import DocumentFilter, ResolvedFilter, resolve_filter
from tidyllm.knowledge.domains import Domain, check_embedder, get_domain
from tidyllm.knowledge.fulltext import MAX_CANDIDATE_ROWS, TextQuery, text_query
from tidyllm.settings import SearchSettings

Mode = Literal["hybrid", "dense", "text"]
MODES: tuple[str, ...] = ("hybrid", "dense", "text")
MAX_K = 1000
MAX_QUERY_CHARS = 1_000_000
MAX_SCAN_TUPLES = 100_000

_DENSE = """
dense_raw AS MATERIALIZED (
    SELECT id, embedding::halfvec({dim}) <=> %(qv)s::halfvec({dim}) AS distance
    FROM chunks
    WHERE dimension = {dim} AND domain_id = %(domain_id)s {filter}
    ORDER BY embedding::halfvec({dim}) <=> %(qv)s::halfvec({dim})
    LIMIT %(n)s
),
dense AS (
    SELECT id, distance, row_number() OVER (ORDER BY distance, id) AS rank FROM dense_raw
)"""
_NO_DENSE = """
dense AS (SELECT NULL::bigint AS id, NULL::float8 AS distance, NULL::bigint AS rank WHERE false)"""
_TEXT = """
text_raw AS MATERIALIZED (
    SELECT id, score
    FROM (
        SELECT c.id, {score} AS score
        FROM chunks c
        WHERE c.domain_id = %(domain_id)s AND c.tsv @@ %(tsq)s::tsquery {filter}
        LIMIT %(max_rows)s
    ) candidates
    ORDER BY score DESC, id
    LIMIT %(n)s
),
text AS (
    SELECT id, score, row_number() OVER (ORDER BY score DESC, id) AS rank FROM text_raw
)"""
# BM25 of one chunk: its tsvector is cut down to the query's lexemes in C (setweight marks
# them, ts_filter keeps the marked ones), so only those few lexemes are unnested and joined.
_BM25_SCORE = """(
            SELECT sum(t.idf * cardinality(u.positions) * (%(k1)s + 1)
                       / (cardinality(u.positions)
                          + %(k1)s * (1 - %(b)s + %(b)s * c.tsv_length / %(avgdl)s)))
            FROM unnest(ts_filter(setweight(c.tsv, 'A', %(lexemes)s::text[]), '{a}')) u
            JOIN unnest(%(lexemes)s::text[], %(idf)s::float8[]) t (lexeme, idf)
                ON t.lexeme = u.lexeme
        )"""
_TS_RANK_SCORE = "ts_rank(c.tsv, %(tsq)s::tsquery, 1)::float8"
_NO_TEXT = """
text AS (SELECT NULL::bigint AS id, NULL::float8 AS score, NULL::bigint AS rank WHERE false)"""
_FUSE = """
fused AS (
    SELECT coalesce(d.id, t.id) AS id, d.rank AS dense_rank, 1 - d.distance AS dense_similarity,
           t.rank AS text_rank, t.score AS text_score,
           coalesce(%(dense_weight)s / (%(rrf_k)s + d.rank), 0)
           + coalesce(%(text_weight)s / (%(rrf_k)s + t.rank), 0) AS rrf
    FROM dense d FULL OUTER JOIN text t ON d.id = t.id
)
SELECT c.id, c.document_id, doc.source_uri, doc.title, c.page, c.start_char, c.end_char,
       c.heading, c.text, c.metadata, f.rrf::float8, f.dense_similarity::float8,
       f.text_score::float8, f.dense_rank, f.text_rank
FROM fused f
JOIN chunks c ON c.id = f.id
JOIN documents doc ON doc.id = c.document_id
ORDER BY f.rrf DESC, f.dense_rank NULLS LAST, c.id
LIMIT %(fetch)s"""


@dataclass(frozen=True)
class Hit:
    """One retrieved chunk: its text, where it comes from, and how each leg scored it.

    ``score`` is the mode's ranking score: the weighted RRF sum for ``hybrid``,
    cosine similarity for ``dense``, BM25 for ``text`` (``text_score``). ``dense_similarity``
    and ``text_score`` are None when that leg did not return the chunk.
    """

    chunk_id: int
    document_id: int
    source_uri: str
    title: str | None
    page: int
    start: int
    end: int
    heading: str | None
    text: str
    metadata: Mapping[str, str]
    score: float
    dense_similarity: float | None
    text_score: float | None
    dense_rank: int | None
    text_rank: int | None


@dataclass(frozen=True)
class SearchResult:
    """Hits in rank order, plus what happened: timings (seconds) and whether exact search ran."""

    domain: str
    query: str
    mode: str
    k: int
    hits: list[Hit]
    exact_fallback: bool = False
    timings: Mapping[str, float] = field(default_factory=dict)
    query_vector: np.ndarray | None = field(default=None, repr=False, compare=False)


def clean_query(query: object) -> str:
    """The query to search for, or a clear :class:`SearchError`."""
    if not isinstance(query, str):
        raise SearchError(f"the query must be text, not {type(query).__name__}")
    if len(query) > MAX_QUERY_CHARS:
        raise SearchError(
            f"the query is {len(query)} characters long; the limit is {MAX_QUERY_CHARS}"
        )
    cleaned = query.replace("\x00", " ").strip()
    if not cleaned:
        raise SearchError("the query is empty")
    return cleaned


def check_filters(filters: Mapping[str, str] | None) -> dict[str, str]:
    """Metadata filters (exact ``key = value`` matches, all must hold) or a clear error."""
    if filters is None:
        return {}
    if not isinstance(filters, Mapping):
        raise SearchError("filters must be a mapping of metadata key to value")
    clean: dict[str, str] = {}
    for key, value in filters.items():
        if not isinstance(key, str) or not key or not isinstance(value, str):
            raise SearchError(f"filter {key!r}={value!r}: keys and values must be non-empty text")
        if "\x00" in key or "\x00" in value:
            raise SearchError("filters must not contain NUL characters")
        clean[key] = value
    return clean


def parse_filter(expression: str) -> tuple[str, str]:
    """``key=value`` → ``(key, value)`` (the CLI's ``--filter`` syntax)."""
    key, sep, value = expression.partition("=")
    if not sep or not key.strip():
        raise SearchError(f"filter {expression!r} must look like key=value")
    return key.strip(), value


def search(
    sm: Any,
    domain: str,
    query: str,
    *,
    k: int = 10,
    filters: Mapping[str, str] | None = None,
    mode: Mode = "hybrid",
    rrf_k: int | None = None,
    candidates: int | None = None,
    ef_search: int | None = None,
    query_vector: np.ndarray | None = None,
    tuning: SearchSettings | None = None,
    actor: Actor | None = None,
    where: DocumentFilter | None = None,
) -> SearchResult:
    """Search ``domain`` for ``query``; returns up to ``k`` hits (exactly k when k chunks match).

    Ranking parameters come from ``tuning`` (default: the ``search`` settings);
    ``rrf_k`` and ``candidates`` override theirs. ``candidates`` is how many
    rows each leg contributes to the fusion (at least ``2k``); ``ef_search``
    the HNSW search breadth (default ``candidates``). ``query_vector`` skips
    embedding the query (it must come from the domain's embedder). ``filters``
    match document metadata exactly; ``where`` keeps the documents a
    :class:`~tidyllm.knowledge.catalog.DocumentFilter` matches (an unknown collection is an
    error naming the domain's collections). ``actor`` (None: the operator) must have a grant
    on the domain, else it is not found (:func:`~tidyllm.knowledge.domains.get_domain`).
    """
    tuning = tuning if tuning is not None else sm.settings.search
    rrf_k = tuning.rrf_k if rrf_k is None else rrf_k
    text = clean_query(query)
    meta = check_filters(filters)
    if mode not in MODES:
        raise SearchError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    for label, value, low, high in (
        ("k", k, 1, MAX_K),
        ("rrf_k", rrf_k, 1, 10_000),
        ("candidates", candidates if candidates is not None else 1, 1, MAX_K),
        ("ef_search", ef_search if ef_search is not None else 1, 1, 1000),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise SearchError(f"{label} must be an integer from {low} to {high}, got {value!r}")
    n = candidates if candidates is not None else min(MAX_K, max(tuning.candidates, 2 * k))
    n = max(n, k)
    ef = ef_search if ef_search is not None else min(1000, max(100, n))

    timings: dict[str, float] = {}
    with sm.connection() as conn:
        dom = get_domain(conn, domain, actor=actor)
        conn.commit()
    vector = None
    if mode != "text":
        started = time.perf_counter()
        vector = _query_vector(sm, dom, text, query_vector)
        timings["embed"] = time.perf_counter() - started

    started = time.perf_counter()
    with sm.connection() as conn, conn.transaction():
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        conn.execute(
            "SELECT set_config('hnsw.iterative_scan', 'relaxed_order', true), "
            "set_config('hnsw.ef_search', %s, true), set_config('hnsw.max_scan_tuples', %s, true)",
            (str(ef), str(MAX_SCAN_TUPLES)),
        )
        by_document = resolve_filter(conn, dom, where, actor)
        if by_document is not None and by_document.ids == []:  # nothing matches
            timings["retrieve"] = time.perf_counter() - started
            return SearchResult(dom.name, text, mode, k, [], False, timings, vector)
        if by_document is not None:  # a generic plan of the filtered legs, blind to the
            # filter's values, can sort every chunk instead of scanning the HNSW index
            # (measured: 8 ms -> 60-100 ms from the 11th call on; bench_filtered_search.py)
            conn.execute("SELECT set_config('plan_cache_mode', 'force_custom_plan', true)")
        terms = text_query(conn, dom.id, dom.language, text) if mode != "dense" else None
        params = {
            "qv": None if vector is None else HalfVector(vector),
            "domain_id": dom.id,
            "filter": Jsonb(meta),
            "n": n,
            "rrf_k": rrf_k,
            "dense_weight": tuning.dense_weight,
            "text_weight": tuning.text_weight,
            "fetch": min(3 * k, k + 100),
            "doc_ids": by_document.ids if by_document else None,
            **(by_document.params if by_document else {}),
            **_text_params(terms, tuning),
        }
        statement = _statement(
            dom,
            mode != "text",
            terms is not None,
            bool(meta),
            tuning.text_ranking,
            by_document,
        )
        rows = conn.execute(statement, params).fetchall()
        exact = False
        if mode != "text" and len(rows) < k:
            conn.execute("SELECT set_config('enable_indexscan', 'off', true)")
            rows = conn.execute(statement, params).fetchall()
            exact = True
    timings["retrieve"] = time.perf_counter() - started
    hits = diversify([_hit(row, mode) for row in rows], tuning.max_per_page)[:k]
    return SearchResult(dom.name, text, mode, k, hits, exact, timings, vector)


def _text_params(terms: TextQuery | None, tuning: SearchSettings) -> dict[str, Any]:
    if terms is None:
        return {"tsq": None}
    return {
        "tsq": terms.tsquery,
        "lexemes": terms.lexemes,
        "idf": terms.idf,
        "avgdl": terms.average_length,
        "k1": tuning.bm25_k1,
        "b": tuning.bm25_b,
        "max_rows": MAX_CANDIDATE_ROWS,
    }


def diversify(hits: list[Hit], max_per_page: int) -> list[Hit]:
    """``hits`` with each page's chunks beyond ``max_per_page`` moved behind all others.

    Stable otherwise: the kept hits and the moved ones each stay in rank order.
    """
    seen: dict[tuple[int, int], int] = {}
    kept: list[Hit] = []
    moved: list[Hit] = []
    for hit in hits:
        key = (hit.document_id, hit.page)
        seen[key] = seen.get(key, 0) + 1
        (kept if seen[key] <= max_per_page else moved).append(hit)
    return kept + moved


def _query_vector(sm: Any, dom: Domain, text: str, given: np.ndarray | None) -> np.ndarray:
    if given is not None:
        vector = np.asarray(given, dtype=np.float32).reshape(-1)
        if vector.shape[0] != dom.dimension:
            raise SearchError(
                f"query_vector has {vector.shape[0]} dimensions; domain {dom.name!r} uses "
                f"{dom.dimension}"
            )
        return vector
    embedder = sm.embedder()
    check_embedder(dom, embedder)
    return embedder.embed_query(text)


def _statement(
    dom: Domain,
    use_dense: bool,
    use_text: bool,
    filtered: bool,
    ranking: str = "bm25",
    by_document: ResolvedFilter | None = None,
) -> sql.Composed:
    dense_condition = _condition(filtered, by_document, "chunks")
    condition = _condition(filtered, by_document, "c")
    dim = sql.Literal(dom.dimension)
    dense = (
        sql.SQL(_DENSE).format(dim=dim, filter=dense_condition) if use_dense else sql.SQL(_NO_DENSE)
    )
    bm25 = ranking == "bm25"
    text = (
        sql.SQL(_TEXT).format(
            filter=condition, score=sql.SQL(_BM25_SCORE if bm25 else _TS_RANK_SCORE)
        )
        if use_text
        else sql.SQL(_NO_TEXT)
    )
    return sql.SQL("WITH {dense},{text},{fuse}").format(dense=dense, text=text, fuse=sql.SQL(_FUSE))


_IN_DOCUMENTS = "AND document_id = ANY(%(doc_ids)s::bigint[])"
_DOCUMENT_MATCHES = (
    "AND EXISTS (SELECT 1 FROM documents doc LEFT JOIN document_metadata m "
    "ON m.document_id = doc.id WHERE doc.id = {chunk}.document_id {condition})"
)


def _condition(filtered: bool, by_document: ResolvedFilter | None, chunk: str) -> sql.Composable:
    """The chunk filter of one leg (``chunk``: its alias): metadata, then documents."""
    parts: list[sql.Composable] = []
    if filtered:
        parts.append(sql.SQL("AND metadata @> %(filter)s"))
    if by_document is not None and by_document.ids is not None:  # a few documents
        parts.append(sql.SQL(_IN_DOCUMENTS))
    elif by_document is not None:  # many: checked per candidate chunk
        parts.append(
            sql.SQL(_DOCUMENT_MATCHES).format(
                chunk=sql.Identifier(chunk), condition=by_document.condition
            )
        )
    return sql.SQL(" ").join(parts)


def _hit(row: tuple[Any, ...], mode: str) -> Hit:
    (chunk_id, document_id, uri, title, page, start, end, heading, text, metadata) = row[:10]
    rrf, dense_similarity, text_score, dense_rank, text_rank = row[10:]
    score = {"hybrid": rrf, "dense": dense_similarity, "text": text_score}[mode]
    return Hit(
        chunk_id=chunk_id,
        document_id=document_id,
        source_uri=uri,
        title=title,
        page=page,
        start=start,
        end=end,
        heading=heading,
        text=text,
        metadata=dict(metadata or {}),
        score=float(score) if score is not None else 0.0,
        dense_similarity=None if dense_similarity is None else float(dense_similarity),
        text_score=None if text_score is None else float(text_score),
        dense_rank=dense_rank,
        text_rank=text_rank,
    )
