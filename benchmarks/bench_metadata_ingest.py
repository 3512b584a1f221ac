"""Metadata at ingest: its share of the Federal Reserve report's ingestion time (target < 5 %).

    .venv/bin/python benchmarks/bench_metadata_ingest.py [--runs 3] [--pdf FILE]

In one process, on a private embedded PostgreSQL and the offline embedder, the Fed
report is ingested ``--runs`` times through ``tidyllm.knowledge.ingest.ingest`` with
``reindex=True`` (extraction in the limited child, chunking, embedding, writing: the whole
ingest) after one warm-up ingest. Measured in the same run:

* ``ingest``: each ingest's wall time (the metadata work included);
* ``record``: the parent's metadata work inside those ingests (turning what the file said
  into fields, reading the sidecar, writing the two layers), timed by wrapping
  :func:`tidyllm.knowledge.ingest_metadata.record_file_metadata`;
* ``child``: what the extraction child does in addition for metadata (XMP and the
  first page's largest-font lines, :func:`tidyllm.extraction.metadata.pdf_extras`),
  timed in this process on the same file ``--runs`` times (the child is another process).

Share = (median record + median child) / median ingest. Cross-check of the child's
share: the extraction child alone (``extract_isolated`` on the same file) with the default
runner and with the metadata runner, alternating, ``--runs`` pairs: the median of the
paired differences (it includes the child's extra imports). Other processes loading the
machine make every number noisier; the component times are the stable ones.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from _services import private_database

from corpus_paths import FED_PDF
from tidyllm import UnifiedSessionManager
from tidyllm.dropzones.steps import extract as extract_step
from tidyllm.extraction import extract_isolated
from tidyllm.extraction.metadata import pdf_extras
from tidyllm.knowledge import create_domain, ingest_metadata
from tidyllm.knowledge.ingest import ingest

TARGET = 0.05


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--pdf", type=Path, default=FED_PDF)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-meta-"))
    folder = work / "src"
    folder.mkdir()
    pdf = folder / args.pdf.name
    shutil.copyfile(args.pdf, pdf)
    record_times: list[float] = []
    original_record = ingest_metadata.record_file_metadata

    def timed_record(*a, **k):
        started = time.perf_counter()
        try:
            return original_record(*a, **k)
        finally:
            record_times.append(time.perf_counter() - started)

    try:
        with (
            private_database("bench-meta-pg-") as (root, url),
            UnifiedSessionManager(data_dir=root / "data", database={"url": url}) as sm,
        ):
            create_domain(sm, "fed")
            ingest(sm, "fed", [str(folder)], track=False)  # warm-up: model, imports
            on = []
            ingest_metadata.record_file_metadata = timed_record
            for _ in range(args.runs):
                report = ingest(sm, "fed", [str(folder)], track=False, reindex=True)
                assert report.counts() == {"done": 1}, report.counts()
                on.append(report.seconds)
            ingest_metadata.record_file_metadata = original_record
        child = [_timed(lambda: pdf_extras(pdf)) for _ in range(args.runs)]
        pairs = []
        for _ in range(args.runs):
            plain = _timed(lambda: extract_isolated(pdf))
            extra = _timed(lambda: extract_isolated(pdf, runner=extract_step.METADATA_RUNNER))
            pairs.append((plain, extra))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    ingest_s = statistics.median(on)
    record_s = statistics.median(record_times)
    child_s = statistics.median(child)
    share = (record_s + child_s) / ingest_s
    print(f"file: {args.pdf.name}, runs: {args.runs}")
    print(f"ingest (metadata on), median: {ingest_s:.3f} s  {[round(x, 2) for x in on]}")
    print(f"  record layers (parent), median: {record_s * 1000:.1f} ms")
    print(f"  XMP + largest-font title (child), median: {child_s * 1000:.1f} ms")
    print(
        f"metadata share of ingestion: {share:.2%} (target < {TARGET:.0%}): "
        f"{'ok' if share < TARGET else 'OVER TARGET'}"
    )
    diffs = [extra - plain for plain, extra in pairs]
    print(
        "cross-check, extraction child: default runner median "
        f"{statistics.median(p for p, _ in pairs):.3f} s, metadata runner median "
        f"{statistics.median(e for _, e in pairs):.3f} s, paired difference median "
        f"{statistics.median(diffs) * 1000:+.0f} ms {[round(d * 1000) for d in diffs]} "
        f"({statistics.median(diffs) / ingest_s:+.2%} of the ingest)"
    )


def _timed(run) -> float:
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


if __name__ == "__main__":
    main()
