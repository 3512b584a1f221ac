"""Search latency over 100,000 chunks: hybrid p50/p99 with and without query embedding; HNSW recall.

    python benchmarks/bench_knowledge_search.py [--chunks 100000] [--queries 200]

SYNTHETIC VECTORS: the 100k chunk embeddings are NOT model outputs. They are
random unit vectors of low intrinsic dimension (a projected 24-d Gaussian plus noise), written
straight into the chunks table, because embedding 100k real chunks takes about
an hour on this machine. They serve the latency and index-recall numbers only;
retrieval *quality* is measured with real embeddings by ``tidyllm eval``.
The chunk texts are real sentences of the Fed report, recombined, so the
full-text leg sees realistic vocabulary and match counts.

Reported: end-to-end ``search()`` latency (Python call, SQL, fusion) for
hybrid search with the query embedded by MiniLM, hybrid with a precomputed
query vector, and hybrid with a metadata filter matching 1% of rows; and
recall@10 of the HNSW leg against exact search over the same (halfvec-rounded)
vectors. Targets: p50 < 20 ms, p99 < 60 ms, recall@10 >= 0.95.
"""

from __future__ import annotations

import argparse
import re
import statistics
import time
from pathlib import Path

import numpy as np
from _services import private_database
from pgvector import HalfVector
from psycopg.types.json import Jsonb

from tidyllm import UnifiedSessionManager
from tidyllm.extraction import extract
from tidyllm.knowledge import create_domain, search

PDF = (
    Path(__file__).resolve().parents[2]
    / "shared"
    / "corpus"
    / "fed-sr-model-validation-stress-testing-2015.pdf"
)
DIM = 384
INDEX_SQL = (
    "CREATE INDEX chunks_embedding_384_idx ON chunks "
    "USING hnsw ((embedding::halfvec(384)) halfvec_cosine_ops) WHERE dimension = 384"
)


def clustered_vectors(rng: np.random.Generator, n: int, latent: int = 24) -> np.ndarray:
    """SYNTHETIC: unit vectors with low intrinsic dimension, like real sentence embeddings.

    A fixed random projection of a ``latent``-dimensional Gaussian plus small noise:
    neighbourhoods are graded (as with real embeddings), not the near-ties of
    uniform random vectors in 384 dimensions.
    """
    projection = np.random.default_rng(0).normal(size=(latent, DIM)).astype(np.float32)
    points = rng.normal(size=(n, latent)).astype(np.float32) @ projection
    points += rng.normal(scale=0.5, size=(n, DIM)).astype(np.float32)
    points /= np.linalg.norm(points, axis=1, keepdims=True)
    return points


def load(sm, sentences: list[str], vectors: np.ndarray, rng: np.random.Generator) -> None:
    """Write the chunks with COPY, then build the HNSW index once (much faster than per row)."""
    with sm.connection() as conn:
        domain_id = conn.execute("SELECT id FROM domains WHERE name = 'bench'").fetchone()[0]
        documents = [
            conn.execute(
                "INSERT INTO documents (domain_id, source_uri, version, content_hash, "
                "chunk_count) VALUES (%s, %s, '1', %s, 100) RETURNING id",
                (domain_id, f"bench://doc/{d}", f"h{d}"),
            ).fetchone()[0]
            for d in range(len(vectors) // 100 + 1)
        ]
        conn.execute("DROP INDEX chunks_embedding_384_idx")
        with (
            conn.cursor() as cur,
            cur.copy(
                "COPY chunks (domain_id, document_id, ordinal, page, start_char, end_char, "
                "token_count, text, metadata, dimension, embedding, language) FROM STDIN"
            ) as copy,
        ):
            for i, vector in enumerate(vectors):
                text = " ".join(sentences[j] for j in rng.integers(0, len(sentences), size=3))
                copy.write_row(
                    (
                        domain_id,
                        documents[i // 100],
                        i % 100,
                        1 + i % 30,
                        0,
                        len(text),
                        60,
                        text,
                        Jsonb({"tenant": f"t{i % 100}"}),
                        DIM,
                        HalfVector(vector),
                        "english",
                    )
                )
        conn.commit()
        conn.execute("SET maintenance_work_mem = '1GB'")
        started = time.perf_counter()
        conn.execute(INDEX_SQL)
        conn.commit()
        # Steady state, as autovacuum leaves it: GIN pending list merged, statistics fresh.
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE chunks")
        conn.autocommit = False
        print(f"HNSW index built over {len(vectors)} rows in {time.perf_counter() - started:.1f}s")


def has_domain_term(conn, query: str) -> bool:
    """Whether a lexeme of ``query`` occurs in a chunk of the domain (brute force, no stats)."""
    return conn.execute(
        "SELECT EXISTS (SELECT 1 FROM chunks WHERE tsv @@ "
        "(SELECT coalesce(string_agg(quote_literal(lexeme), ' | ')::tsquery, ''::tsquery) "
        " FROM unnest(to_tsvector('english', %s))))",
        (query,),
    ).fetchone()[0]


def percentiles(samples: list[float]) -> str:
    ms = sorted(s * 1000 for s in samples)
    p50 = statistics.median(ms)
    p99 = ms[min(len(ms) - 1, round(0.99 * (len(ms) - 1)))]
    flag = "ok" if p50 < 20 and p99 < 60 else "MISSES target"
    return f"p50 {p50:6.1f} ms  p99 {p99:6.1f} ms  ({flag})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    rng = np.random.default_rng(42)
    text = extract(PDF).text
    sentences = [
        " ".join(s.split()) for s in re.split(r"(?<=[.!?])\s+", text) if len(s.split()) >= 6
    ]
    vectors = clustered_vectors(rng, args.chunks)
    with (
        private_database("bench-search-") as (root, url),
        UnifiedSessionManager(data_dir=root / "data", database={"url": url}) as sm,
    ):
        create_domain(sm, "bench")
        load(sm, sentences, vectors, rng)
        queries = []
        for _ in range(args.queries):
            words = sentences[rng.integers(0, len(sentences))].split()
            start = int(rng.integers(0, max(1, len(words) - 6)))
            queries.append(" ".join(words[start : start + int(rng.integers(4, 9))]))
        probes = clustered_vectors(rng, args.queries)  # SYNTHETIC query vectors
        sm.embedder().embed(["warm up"])
        for q, v in zip(queries[:20], probes[:20], strict=True):  # warm caches
            search(sm, "bench", q, k=10, query_vector=v)

        text_hits: list[int] = []

        def timed(use_vector: bool, **kwargs) -> list[float]:
            out = []
            for q, v in zip(queries, probes, strict=True):
                extra = {"query_vector": v} if use_vector else {}
                started = time.perf_counter()
                result = search(sm, "bench", q, k=10, **kwargs, **extra)
                out.append(time.perf_counter() - started)
                # hybrid/dense always fill k; text-only returns matching chunks only
                assert len(result.hits) == 10 or kwargs.get("mode") == "text"
                if kwargs.get("mode") == "text":
                    text_hits.append(len(result.hits))
            return out

        print(
            f"{args.chunks} chunks (SYNTHETIC vectors, real Fed sentences), "
            f"{args.queries} queries, k=10"
        )
        print("hybrid, query embedded by MiniLM : " + percentiles(timed(False)))
        print("hybrid, precomputed query vector : " + percentiles(timed(True)))
        print(
            "hybrid, vector + 1% tenant filter: "
            + percentiles(timed(True, filters={"tenant": "t42"}))
        )
        print("dense only, precomputed vector   : " + percentiles(timed(True, mode="dense")))
        print("text only                        : " + percentiles(timed(False, mode="text")))
        with_text = sum(1 for n in text_hits if n)
        with sm.connection() as conn:
            with_term = sum(1 for q in queries if has_domain_term(conn, q))
        flag = "ok" if with_text == with_term else "MISSES target"
        print(
            f"  full-text leg answered {with_text} of the {with_term} queries that have a term "
            f"occurring in the domain ({len(queries)} queries; {flag})"
        )

        stored = vectors.astype(np.float16).astype(np.float32)
        stored /= np.linalg.norm(stored, axis=1, keepdims=True)
        recalls = []
        with sm.connection() as conn:
            order = [r[0] for r in conn.execute("SELECT id FROM chunks ORDER BY id")]
        ids = np.array(order)
        for v in probes[:100]:
            exact = set(ids[np.argsort(-(stored @ v))[:10]].tolist())
            got = {
                h.chunk_id
                for h in search(sm, "bench", "x", k=10, mode="dense", query_vector=v).hits
            }
            recalls.append(len(exact & got) / 10)
        mean = statistics.mean(recalls)
        flag = "ok" if mean >= 0.95 else "MISSES target"
        print(f"HNSW recall@10 vs exact search (100 queries): {mean:.3f} ({flag})")


if __name__ == "__main__":
    main()
