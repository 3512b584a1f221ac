"""Throughput of the default embedder on real sentences.

Run:  /work/venv/bin/python benchmarks/bench_embedder.py [--threads N] [--batch-size N]

Sentences come from the Fed's SR 15-18-era model-validation PDF in the shared
corpus (text extracted with pypdf, split at sentence ends, 1,000+ sentences of
5 to 400 characters). The model is loaded and warmed up before timing; the
timed run is the median of three passes. The baseline to compare with (the
torch / sentence-transformers pipeline) is measured by the knowledge issue's
benchmark, not here: this script has no torch to compare against.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import time
from pathlib import Path

from pypdf import PdfReader

from tidyllm.embedding import MiniLMEmbedder

DEFAULT_PDF = (
    Path(__file__).resolve().parents[2]
    / "shared"
    / "corpus"
    / "fed-sr-model-validation-stress-testing-2015.pdf"
)
_SENTENCE_END = re.compile(r"(?<=[.!?;:])\s+")


def load_sentences(pdf: Path, minimum: int) -> list[str]:
    """Sentences of the PDF, cycled if it has fewer than ``minimum``."""
    text = " ".join(page.extract_text() or "" for page in PdfReader(pdf).pages)
    flat = " ".join(text.split())
    sentences = [s for s in _SENTENCE_END.split(flat) if 5 <= len(s) <= 400]
    if not sentences:
        raise SystemExit(f"no sentences found in {pdf}")
    while len(sentences) < minimum:
        sentences = sentences + sentences
    return sentences


def main(argv: list[str] | None = None) -> int:
    """Parse options, embed the sentences three times, print sentences per second."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pdf", type=Path, default=DEFAULT_PDF)
    parser.add_argument("--threads", type=int, default=None, help="onnxruntime threads")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--minimum", type=int, default=1000, help="at least this many sentences")
    options = parser.parse_args(argv)

    sentences = load_sentences(options.pdf, options.minimum)
    embedder = MiniLMEmbedder(threads=options.threads)
    started = time.perf_counter()
    embedder.embed(sentences[:64], batch_size=options.batch_size)
    load_seconds = time.perf_counter() - started

    timings = []
    for _ in range(3):
        started = time.perf_counter()
        vectors = embedder.embed(sentences, batch_size=options.batch_size)
        timings.append(time.perf_counter() - started)
    seconds = statistics.median(timings)
    # The embedder's tokenizer pads a batch to its longest text: count real tokens only.
    tokens = sum(sum(e.attention_mask) for e in embedder.tokenizer.encode_batch(sentences))
    print(f"sentences        {len(sentences)} (mean {tokens / len(sentences):.1f} tokens)")
    print(f"vectors          {vectors.shape[0]} x {vectors.shape[1]} {vectors.dtype}")
    print(f"threads          {options.threads or 'onnxruntime default'}")
    print(f"batch size       {options.batch_size}")
    print(f"load + warm-up   {load_seconds:.2f} s")
    print(f"passes (s)       {', '.join(f'{t:.2f}' for t in timings)}")
    print(f"load average     {os.getloadavg()[0]:.1f} (other work on the machine skews this)")
    print(f"throughput       {len(sentences) / seconds:.0f} sentences/s (median of 3)")
    print(f"                 {tokens / seconds:.0f} tokens/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
