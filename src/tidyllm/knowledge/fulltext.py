"""Turning a free-text query into a PostgreSQL ``tsquery`` that is safe and useful.

Why not ``websearch_to_tsquery``: it ANDs every word, so a natural-language
question ("what did the MVU's gap analysis find?") matches nothing unless one
chunk holds every word. We OR the query's lexemes instead and let ranking
prefer chunks with more of them.

Why lexemes come from the database: ``to_tsvector(domain_language, query)``
normalises the query exactly as the chunks were normalised (same parser, same
stemmer, same stop words), so what we look up is what was indexed. The
lexemes are then quoted for the ``tsquery`` input syntax, so no character of
the user's query (quotes, ``&|!:*()``, backslashes) is ever interpreted as an
operator. Long queries keep their first :data:`MAX_TERMS` distinct lexemes.

Why very common lexemes are dropped: an OR query containing a word that is in
most chunks ("model" in a model-risk corpus) matches most rows, and every
match must be ranked - the full-text leg then costs O(table). Such words also
carry almost no information (BM25 would give them an IDF near zero).
PostgreSQL's ANALYZE already keeps the most common lexemes of ``chunks.tsv``
with their frequencies (``pg_stats.most_common_elems``), so lexemes found in
more than :data:`MAX_LEXEME_FREQUENCY` of the chunks are left out of the query
- unless that would leave fewer than :data:`MIN_TERMS`, in which case the
rarest ones are kept. A lexeme ANALYZE did not list is rarer than every listed
one, so the lowest listed frequency is its (upper-bound) estimate. Then,
rarest first, lexemes are kept while the rows they are expected to match
(table rows × summed frequency) stay within :data:`MAX_RANKED_ROWS`, so the
ranking cost is bounded on big tables while small domains keep every
informative term. On a big table a query made only of common words thus has
no full-text leg (its terms would match most rows and say nothing); the
dense leg answers it. Before the first ANALYZE nothing is dropped.

Languages: deepset-ai/haystack #8072 is the problem of a document store whose
keyword index has exactly one language for everything (English and French
documents stemmed alike). Here the text-search configuration is a domain
setting (``english`` by default; ``simple`` - lower-cased, unstemmed, no stop
words - for mixed-language collections, or ``french``, ``german``, ...), stored
on every chunk (``chunks.language``) and used both to build ``tsv`` and to
parse queries, so one table holds domains in different languages. Words in
any script are kept by the parser; scripts written without spaces (Chinese,
Japanese) come out as long tokens, so for them the dense leg does the work.
"""

from __future__ import annotations

from typing import Any

MAX_TERMS = 64
MAX_LEXEME_FREQUENCY = 0.1
MIN_TERMS = 2
MAX_RANKED_ROWS = 2000

_LEXEMES = """
WITH stats AS (
    SELECT e.lexeme, e.frequency
    FROM pg_stats s,
         unnest(s.most_common_elems::text::text[], s.most_common_elem_freqs)
             AS e(lexeme, frequency)
    WHERE s.schemaname = current_schema() AND s.tablename = 'chunks' AND s.attname = 'tsv'
)
SELECT q.lexeme,
       coalesce(max(st.frequency),
                (SELECT min(frequency) FROM stats WHERE lexeme IS NOT NULL), 0),
       (SELECT greatest(reltuples, 0) FROM pg_class WHERE oid = 'chunks'::regclass)
FROM unnest(to_tsvector(%s::regconfig, %s)) q
LEFT JOIN stats st ON st.lexeme = q.lexeme
GROUP BY q.lexeme, q.positions[1]
ORDER BY q.positions[1], q.lexeme
LIMIT %s
"""


def quote_lexeme(lexeme: str) -> str:
    """``lexeme`` as a quoted ``tsquery`` operand: quotes doubled, backslashes escaped."""
    return "'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "'"


def query_lexemes(conn: Any, language: str, query: str, limit: int = MAX_TERMS) -> list[str]:
    """The informative lexemes of ``query`` (under ``language``), in query order, <= ``limit``."""
    rows = conn.execute(_LEXEMES, (language, query, limit)).fetchall()
    if not rows:
        return []
    total = float(rows[0][2] or 0)
    frequency = {lexeme: float(f) for lexeme, f, _ in rows}
    kept = [lexeme for lexeme, f in frequency.items() if f <= MAX_LEXEME_FREQUENCY]
    if len(kept) < MIN_TERMS:
        kept = sorted(frequency, key=frequency.get)[:MIN_TERMS]
    chosen: set[str] = set()
    expected = 0.0
    for lexeme in sorted(kept, key=frequency.get):
        expected += frequency[lexeme] * total
        if expected > MAX_RANKED_ROWS:
            break
        chosen.add(lexeme)
    return [lexeme for lexeme in frequency if lexeme in chosen]


def or_tsquery(lexemes: list[str]) -> str | None:
    """A ``tsquery`` source text matching any of ``lexemes`` (None when there are none)."""
    if not lexemes:
        return None
    return " | ".join(quote_lexeme(lex) for lex in lexemes)
