"""Search with metadata filters: latency against the unfiltered search, and k results kept.

A private embedded PostgreSQL gets one domain of DOCUMENTS documents of one chunk each
(random unit vectors, generated in SQL; the HNSW index rebuilt once with a large
``maintenance_work_mem``) with merged metadata rows (years 1990-2024, 0-3 of 40 tags) and
collections of 1% and 10%. Each case runs :func:`tidyllm.knowledge.search.search` in
dense and text modes with a given query vector (no embedder time), ``REPEAT`` times, and
reports p50 against the unfiltered search of the same run, how many hits came back
(k = 10) and how often the exact fallback ran.

Run: ``.venv/bin/python benchmarks/bench_filtered_search.py [DOCUMENTS]``.
"""

from __future__ import annotations

import statistics
import sys
import time

import numpy as np
from _services import private_database

from tidyllm import UnifiedSessionManager
from tidyllm.knowledge import create_domain
from tidyllm.knowledge.catalog import document_filter
from tidyllm.knowledge.search import search

REPEAT = 30
K = 10

_FILL = """
SELECT setseed(0.17);
INSERT INTO documents (domain_id, source_uri, version, content_hash, title)
SELECT %(domain)s, 'mem://bench/' || g, '1', md5(g::text), 'Paper ' || g
FROM generate_series(1, %(n)s) g;
INSERT INTO chunks (domain_id, document_id, ordinal, page, start_char, end_char, token_count,
                    text, dimension, embedding, language)
SELECT %(domain)s, d.id, 0, 1, 0, 20, 3, 'apple river stone ' || (d.id %% 97), 384,
       (SELECT array_agg(random() - 0.5)::vector(384)::halfvec(384)
        FROM generate_series(1, 384) WHERE d.id > 0), 'english'
FROM documents d WHERE d.domain_id = %(domain)s;
INSERT INTO document_metadata (document_id, domain_id, year, tags)
SELECT id, %(domain)s, 1990 + abs(hashtext(id || 'y')) %% 35,
       (SELECT coalesce(array_agg(DISTINCT 'tag' || abs(hashtext(id || 't' || i)) %% 40), '{}')
        FROM generate_series(1, abs(hashtext(id || 'n')) %% 4) i)
FROM documents WHERE domain_id = %(domain)s;
INSERT INTO collections (domain_id, name) VALUES (%(domain)s, 'one-percent'),
                                                 (%(domain)s, 'ten-percent');
INSERT INTO collection_documents (collection_id, document_id)
SELECT c.id, d.id FROM documents d, collections c
WHERE d.domain_id = %(domain)s
  AND ((c.name = 'one-percent' AND d.id %% 100 = 7) OR (c.name = 'ten-percent' AND d.id %% 10 = 3))
"""


def main(n: int) -> None:
    with (
        private_database("tidyllm-bench-fsearch-") as (root, url),
        UnifiedSessionManager(data_dir=str(root / "data"), database={"url": url}) as sm,
    ):
        create_domain(sm, "bench")
        started = time.perf_counter()
        with sm.connection() as conn:
            conn.autocommit = True
            domain = conn.execute("SELECT id FROM domains WHERE name = 'bench'").fetchone()[0]
            conn.execute("DROP INDEX chunks_embedding_384_idx")
            for statement in _FILL.split(";\n"):
                if statement.strip():
                    conn.execute(statement, {"domain": domain, "n": n})
            conn.execute("SET maintenance_work_mem = '512MB'")
            conn.execute(
                "CREATE INDEX chunks_embedding_384_idx ON chunks USING hnsw "
                "((embedding::halfvec(384)) halfvec_cosine_ops) WHERE dimension = 384"
            )
            for table in ("documents", "chunks", "document_metadata", "collection_documents"):
                conn.execute(f"VACUUM ANALYZE {table}")
            conn.autocommit = False
        print(f"{n} documents (one chunk each) generated in {time.perf_counter() - started:.1f}s")
        rng = np.random.default_rng(3)
        queries = [v / np.linalg.norm(v) for v in rng.normal(size=(REPEAT, 384))]
        cases = {
            "no filter": None,
            "--collection one-percent": document_filter(collection="one-percent"),
            "--collection ten-percent": document_filter(collection="ten-percent"),
            "--year 1995..2024 (86%)": document_filter(years="1995..2024"),
            "--tag tag7": document_filter(tags=["tag7"]),
            "--collection one-percent --year 2010.. --tag tag1": document_filter(
                collection="one-percent", years="2010..", tags=["tag1"]
            ),
        }
        print(f"\n{'case':52} {'mode':6} {'hits':>5} {'exact':>6} {'p50 ms':>8} {'x none':>7}")
        for mode in ("dense", "text"):
            base = None
            for label, where in cases.items():
                search(
                    sm, "bench", "apple river", k=K, mode=mode, query_vector=queries[0], where=where
                )
                samples, hits, exact = [], [], 0
                for vector in queries:
                    t = time.perf_counter()
                    result = search(
                        sm, "bench", "apple river", k=K, mode=mode, query_vector=vector, where=where
                    )
                    samples.append((time.perf_counter() - t) * 1000)
                    hits.append(len(result.hits))
                    exact += result.exact_fallback
                p50 = statistics.median(samples)
                base = base or p50
                shown = f"{min(hits)}-{max(hits)}" if min(hits) != max(hits) else str(hits[0])
                print(f"{label:52} {mode:6} {shown:>5} {exact:>6} {p50:8.1f} {p50 / base:7.2f}")


if __name__ == "__main__":
    numbers = [a for a in sys.argv[1:] if a.isdigit()]
    main(int(numbers[0]) if numbers else 20_000)
