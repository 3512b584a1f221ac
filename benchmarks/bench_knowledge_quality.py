"""Retrieval quality on every labelled dataset in datasets/: dense vs full text vs hybrid.

    python benchmarks/bench_knowledge_quality.py [DATASET_DIR ...]

Real all-MiniLM-L6-v2 embeddings; the same code path as ``tidyllm eval``
(corpus indexed through ``index_document``, then ANALYZE, each query embedded
once). Prints nDCG@10, recall@10, recall@100 and MRR@10 per mode and whether
hybrid beats both single legs on nDCG@10 (the target).
"""

from __future__ import annotations

import sys
from pathlib import Path

from _services import private_database

from tidyllm import UnifiedSessionManager
from tidyllm.knowledge.evaluation import METRICS, evaluate

DATASETS = Path(__file__).resolve().parents[1] / "datasets"


def main() -> None:
    folders = [Path(a) for a in sys.argv[1:]] or sorted(
        p for p in DATASETS.iterdir() if (p / "corpus.jsonl").exists()
    )
    with (
        private_database("bench-quality-") as (root, url),
        UnifiedSessionManager(data_dir=root / "data", database={"url": url}) as sm,
    ):
        for folder in folders:
            report = evaluate(sm, folder, log_run=False)
            print(
                f"{report.dataset}: {report.queries} queries, {report.documents} documents,"
                f" {report.chunks} chunks"
            )
            print(f"  {'mode':8}" + "".join(f"{m:>12}" for m in METRICS))
            for mode, values in report.results.items():
                print(f"  {mode:8}" + "".join(f"{values[m]:12.4f}" for m in METRICS))
            ndcg = {mode: values["ndcg@10"] for mode, values in report.results.items()}
            wins = ndcg["hybrid"] > max(ndcg["dense"], ndcg["text"])
            print(f"  hybrid beats both legs on nDCG@10: {'yes' if wins else 'NO'}")


if __name__ == "__main__":
    main()
