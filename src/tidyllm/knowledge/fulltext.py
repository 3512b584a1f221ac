"""The full-text leg's query: BM25 terms with their IDF, and the candidate ``tsquery``.

Why BM25 and not ``ts_rank``: ``ts_rank`` has no inverse document frequency,
so a chunk full of a paper's topic words outranks the one sentence with the
rare detail the question asks for. BM25 (Robertson & Zaragoza; the lexical
baseline of Lucene, Elasticsearch and Tantivy) weighs each term by how rare it
is in the domain and normalises by chunk length. Its statistics - chunks,
their total length and each lexeme's document frequency, per domain - are
kept by triggers in the same transaction as the chunks (migration 0006), so
scores are exact for the snapshot a search reads.

Why lexemes come from the database: ``to_tsvector(domain_language, query)``
normalises the query exactly as the chunks were normalised (same parser,
stemmer and stop words), so what we look up is what was indexed. The lexemes
are quoted for the ``tsquery`` input syntax, so no character of the user's
query (quotes, ``&|!:*()``, backslashes) is ever an operator. Long queries
keep their first :data:`MAX_TERMS` distinct lexemes.

Candidates, bounded: every query term that occurs in the domain is scored,
but the rows to score are found through the GIN index with an OR of the
rarest terms only, taken rarest first while their summed document frequency
stays within :data:`MAX_CANDIDATE_ROWS` - and always at least the rarest term.
When every query term fits in that budget (small and medium domains, or a
query with rare words), the result is the exact BM25 ranking of the domain.
Otherwise a chunk holding only the common terms is not scored: it is the
rare terms that carry BM25's weight, so this is where its top results are,
but not a guarantee. When even the rarest term is in more chunks than the
budget (a query of common words only), the first :data:`MAX_CANDIDATE_ROWS`
chunks holding it are scored: BM25 over a sample. Either way every query with
a term in the domain gets a full-text leg, at a bounded cost.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

MAX_TERMS = 64
MAX_CANDIDATE_ROWS = 300

_TERMS = """
SELECT q.lexeme, coalesce(s.chunks, 0), t.chunks, t.tokens
FROM unnest(to_tsvector(%(language)s::regconfig, %(query)s)) q
LEFT JOIN lexeme_stats s ON s.domain_id = %(domain_id)s AND s.lexeme = q.lexeme
LEFT JOIN domain_text_stats t ON t.domain_id = %(domain_id)s
ORDER BY q.positions[1], q.lexeme
LIMIT %(limit)s
"""


@dataclass(frozen=True)
class TextQuery:
    """The BM25 terms of a query (lexemes with IDF), the candidate ``tsquery`` and the
    domain's average chunk length."""

    lexemes: list[str]
    idf: list[float]
    tsquery: str
    average_length: float


def idf(chunks: int, frequency: int) -> float:
    """BM25's inverse document frequency, Lucene's variant (never negative)."""
    return math.log(1.0 + (chunks - frequency + 0.5) / (frequency + 0.5))


def quote_lexeme(lexeme: str) -> str:
    """``lexeme`` as a quoted ``tsquery`` operand: quotes doubled, backslashes escaped."""
    return "'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "'"


def text_query(conn: Any, domain_id: int, language: str, query: str) -> TextQuery | None:
    """The query's BM25 terms in ``domain_id``, or None when no term occurs in the domain."""
    params = {"language": language, "query": query, "domain_id": domain_id, "limit": MAX_TERMS}
    rows = conn.execute(_TERMS, params).fetchall()
    present = [(lexeme, int(df)) for lexeme, df, _, _ in rows if df > 0]
    if not present:
        return None
    chunks, tokens = int(rows[0][2] or 0), int(rows[0][3] or 0)
    chosen: list[str] = []
    covered = 0
    for lexeme, df in sorted(present, key=lambda item: (item[1], item[0])):
        if chosen and covered + df > MAX_CANDIDATE_ROWS:
            break
        chosen.append(lexeme)
        covered += df
    return TextQuery(
        lexemes=[lexeme for lexeme, _ in present],
        idf=[idf(chunks, df) for _, df in present],
        tsquery=" | ".join(quote_lexeme(lexeme) for lexeme in chosen),
        average_length=tokens / chunks if chunks else 1.0,
    )
