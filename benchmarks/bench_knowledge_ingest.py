"""Ingestion throughput: index_document (chunk + embed + write) vs the raw embedder, same run.

    python benchmarks/bench_knowledge_ingest.py [--copies 19]

Corpus (``_knowledge_corpus``, shared with ``bench_knowledge_llamaindex``): the
Fed OIG report (../shared/corpus) extracted once, then ``--copies`` variants of
it (each copy's pages in a different order, each a distinct source), about 110
chunks per copy: 19 copies ≈ 2,100 chunks. Real
all-MiniLM-L6-v2 embeddings throughout.

For each copy, in turn: (1) the raw embedder embeds exactly the texts the
pipeline will embed (batch size as configured), then (2) ``index_document``
indexes the copy into PostgreSQL. Interleaving puts both measurements under the
same machine load. Overhead = pipeline time / raw embedding time - 1; the
target is <= 15%. Prints chunks/s for both and the per-stage split.
"""

from __future__ import annotations

import argparse
import time

from _knowledge_corpus import corpus
from _services import private_database

from tidyllm import UnifiedSessionManager
from tidyllm.knowledge import create_domain, index_document
from tidyllm.knowledge.indexing import chunker_for, embedding_text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=19)
    args = parser.parse_args()
    with private_database("bench-ingest-") as (root, url):
        with UnifiedSessionManager(data_dir=root / "data", database={"url": url}) as sm:
            domain = create_domain(sm, "bench")
            embedder = sm.embedder()
            embedder.embed(["warm up the model"])
            chunker = chunker_for(domain.chunk_size, domain.chunk_overlap)
            batch = sm.settings.embedder.batch_size or embedder.default_batch_size
            raw_seconds = pipeline_seconds = 0.0
            stages = {"chunk": 0.0, "embed": 0.0, "write": 0.0}
            chunks = 0
            for number, document in enumerate(corpus(args.copies)):
                texts = [embedding_text(c) for c in chunker.chunk(document.pages)]
                started = time.perf_counter()
                embedder.embed(texts, batch_size=batch)
                raw_seconds += time.perf_counter() - started
                started = time.perf_counter()
                result = index_document(
                    sm,
                    domain="bench",
                    document=document,
                    source_uri=f"bench://fed/{number}",
                    version="1",
                    content_hash=f"copy-{number}",
                )
                pipeline_seconds += time.perf_counter() - started
                for stage, seconds in result.timings.items():
                    stages[stage] += seconds
                chunks += result.chunks
                print(f"  copy {number:2d}: {result.chunks} chunks", flush=True)
        overhead = pipeline_seconds / raw_seconds - 1
        print(f"corpus: {args.copies} variants of the Fed report, {chunks} chunks (real MiniLM)")
        print(f"raw embedder : {chunks / raw_seconds:7.1f} chunks/s ({raw_seconds:.1f}s)")
        print(
            f"index_document: {chunks / pipeline_seconds:7.1f} chunks/s ({pipeline_seconds:.1f}s)"
        )
        print(
            "  stages: "
            + ", ".join(f"{k} {v:.1f}s ({v / pipeline_seconds:.0%})" for k, v in stages.items())
        )
        verdict = "meets" if overhead <= 0.15 else "MISSES"
        print(f"pipeline overhead vs raw embedder: {overhead:+.1%} ({verdict} the <= 15% target)")


if __name__ == "__main__":
    main()
