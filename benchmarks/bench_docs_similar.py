"""``docs similar`` over 100,000 documents: p50 < 20 ms (issue 13, Performance).

A private embedded PostgreSQL gets one domain of N documents (default 100,000) and a
second domain of N/10 (the neighbours must come from the document's own domain, through
the HNSW iterative scan), with document vectors generated directly in SQL: 384-d,
clustered around 200 random topic centres (random directions alone are the worst case for
HNSW and unlike papers). The HNSW index is built after the load with a raised
``maintenance_work_mem``. Then ``similar_documents(sm, id, k=10)`` - the library call the
CLI makes, grant check included - for random documents, against ``SELECT 1`` through
the same session manager in the same rounds (the floor of any query). Recall@10 against
an exact scan (index off) on 50 of them says what the speed costs.

Run: ``.venv/bin/python benchmarks/bench_docs_similar.py [N] [ROUNDS]``.
"""

from __future__ import annotations

import random
import statistics
import sys
import time

from _services import private_database

from tidyllm import UnifiedSessionManager
from tidyllm.knowledge import create_domain
from tidyllm.knowledge.similar import similar_documents

DIM = 384
CENTRES = 200

_LOAD = """
INSERT INTO documents (domain_id, source_uri, version, content_hash, title, chunk_count)
SELECT %(domain_id)s, 'bench://' || %(name)s || '/' || g, '1', md5(%(name)s || g),
       'paper ' || g, 1
FROM generate_series(1, %(n)s) g;
INSERT INTO document_vectors (document_id, domain_id, dimension, embedding)
SELECT d.id, d.domain_id, {dim},
       l2_normalize((SELECT array_agg(c.v[i] + 0.35 * (random() - 0.5)) FROM
           generate_series(1, {dim}) i WHERE d.id > 0)::vector)::halfvec
FROM documents d JOIN bench_centres c ON c.k = d.id %% {centres}
WHERE d.domain_id = %(domain_id)s;
"""


def _load(sm, name: str, n: int) -> int:
    with sm.connection() as conn:
        domain_id = conn.execute("SELECT id FROM domains WHERE name = %s", (name,)).fetchone()[0]
        for statement in _LOAD.format(dim=DIM, centres=CENTRES).split(";"):
            if statement.strip():
                conn.execute(statement, {"domain_id": domain_id, "name": name, "n": n})
        conn.commit()
    return domain_id


def _pct(values: list[float], q: float) -> float:
    return sorted(values)[min(len(values) - 1, int(q * len(values)))] * 1000


def main(argv: list[str]) -> None:
    n = int(argv[0]) if argv else 100_000
    rounds = int(argv[1]) if len(argv) > 1 else 300
    with (
        private_database("bench-similar-") as (root, url),
        UnifiedSessionManager(data_dir=root / "data", database={"url": url}) as sm,
    ):
        started = time.perf_counter()
        create_domain(sm, "papers")
        create_domain(sm, "others")
        with sm.connection() as conn:  # built again after the load (much faster)
            conn.execute("DROP INDEX document_vectors_embedding_384_idx")
            conn.execute(
                "CREATE TABLE bench_centres AS SELECT k, (SELECT array_agg(random() - 0.5) "
                "FROM generate_series(1, %s) WHERE k >= 0) AS v FROM generate_series(0, %s) k",
                (DIM, CENTRES - 1),
            )
            conn.commit()
        _load(sm, "papers", n)
        _load(sm, "others", n // 10)
        loaded = time.perf_counter()
        with sm.connection() as conn:
            conn.execute("SET maintenance_work_mem = '1GB'")
            conn.execute(
                "CREATE INDEX document_vectors_embedding_384_idx ON document_vectors USING hnsw "
                "((embedding::halfvec(384)) halfvec_cosine_ops) WHERE dimension = 384"
            )
            conn.execute("ANALYZE document_vectors")
            conn.execute("ANALYZE documents")
            conn.commit()
            ids = [
                r[0]
                for r in conn.execute(
                    "SELECT id FROM documents WHERE domain_id = "
                    "(SELECT id FROM domains WHERE name = 'papers')"
                )
            ]
        built = time.perf_counter()
        print(
            f"{n:,} + {n // 10:,} documents loaded in {loaded - started:.1f} s, "
            f"HNSW built in {built - loaded:.1f} s",
            file=sys.stderr,
        )
        rng = random.Random(13)
        for _ in range(20):  # warm-up: pool, plans, index pages in memory
            similar_documents(sm, rng.choice(ids), 10)
        similar_t, floor_t = [], []
        for _ in range(rounds):
            document_id = rng.choice(ids)
            t0 = time.perf_counter()
            with sm.connection() as conn:
                conn.execute("SELECT 1").fetchone()
            t1 = time.perf_counter()
            found = similar_documents(sm, document_id, 10)
            t2 = time.perf_counter()
            assert len(found.documents) == 10
            floor_t.append(t1 - t0)
            similar_t.append(t2 - t1)
        recalls = []
        for document_id in rng.sample(ids, 50):
            got = {d.document_id for d in similar_documents(sm, document_id, 10).documents}
            with sm.connection() as conn, conn.transaction():
                conn.execute("SET LOCAL enable_indexscan = off")
                exact = conn.execute(
                    "SELECT document_id FROM document_vectors WHERE domain_id = "
                    "(SELECT domain_id FROM documents WHERE id = %(id)s) AND document_id <> %(id)s "
                    "ORDER BY embedding::halfvec(384) <=> (SELECT embedding::halfvec(384) FROM "
                    "document_vectors WHERE document_id = %(id)s) LIMIT 10",
                    {"id": document_id},
                ).fetchall()
            recalls.append(len(got & {r[0] for r in exact}) / 10)
    p50, p95 = _pct(similar_t, 0.5), _pct(similar_t, 0.95)
    f50 = _pct(floor_t, 0.5)
    print("| documents | rounds | similar p50 | p95 | SELECT 1 p50 | ratio | recall@10 |")
    print("|---|---|---|---|---|---|---|")
    print(
        f"| {n:,} (+{n // 10:,} in another domain) | {rounds} | {p50:.1f} ms | {p95:.1f} ms | "
        f"{f50:.2f} ms | {p50 / f50:.1f} | {statistics.mean(recalls):.3f} |"
    )
    print(f"target p50 < 20 ms: {'met' if p50 < 20 else 'MISSED'}")


if __name__ == "__main__":
    main(sys.argv[1:])
