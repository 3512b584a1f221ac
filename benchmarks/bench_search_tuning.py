"""Choose the ranking settings on the labelled sets' tuning questions only.

    python benchmarks/bench_search_tuning.py [--heldout] [DATASET_DIR ...]

Each dataset in datasets/ is indexed twice (chunks with and without their
title/heading context), then every candidate setting of the full-text
ranking (BM25 or the old ``ts_rank``), the fusion constant, the leg weights
and the candidate depth is measured on the ``tune`` questions: hybrid
nDCG@10, hit@5 and hit@10, averaged over the sets, and whether hybrid is at
least the better single leg on every set. Held-out questions are never
looked at unless ``--heldout`` is given (after the choice is made, for the
chosen setting only: set it in ``search.*`` first).
"""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

from _services import private_database

from tidyllm import UnifiedSessionManager
from tidyllm.knowledge.evaluation import find_datasets, indexed, measure
from tidyllm.settings import SearchSettings

DATASETS = Path(__file__).resolve().parents[1] / "datasets"
GRID = {
    "text_ranking": ("bm25", "ts_rank"),
    "rrf_k": (10, 30, 60),
    "weights": ((1.0, 1.0), (1.0, 0.5), (0.5, 1.0)),
    "candidates": (50, 100),
}
SCORED = ("ndcg@10", "hit@5", "hit@10")


def settings_grid() -> list[SearchSettings]:
    """Every combination of :data:`GRID`."""
    return [
        SearchSettings(
            text_ranking=ranking,
            rrf_k=rrf_k,
            dense_weight=weights[0],
            text_weight=weights[1],
            candidates=candidates,
        )
        for ranking, rrf_k, weights, candidates in itertools.product(*GRID.values())
    ]


def label(tuning: SearchSettings) -> str:
    return (
        f"{tuning.text_ranking:7} k={tuning.rrf_k:<3} w={tuning.dense_weight}/{tuning.text_weight}"
        f" n={tuning.candidates:<3}"
    )


def main(argv: list[str]) -> None:
    heldout = "--heldout" in argv
    folders = [Path(a) for a in argv if a != "--heldout"] or find_datasets(DATASETS)
    split = "heldout" if heldout else "tune"
    grid = None if heldout else settings_grid()
    rows: dict[tuple[bool, str], list[tuple[dict[str, float], bool]]] = {}
    with (
        private_database("bench-tuning-") as (root, url),
        UnifiedSessionManager(data_dir=root / "data", database={"url": url}) as sm,
    ):
        for folder in folders:
            for contextual in (False, True):
                with indexed(sm, folder, contextual=contextual) as target:
                    for tuning in grid or [sm.settings.search]:
                        report = measure(sm, target, tuning=tuning, answers=False)
                        results = report.by_split[split]
                        best_leg = max(results["dense"]["ndcg@10"], results["text"]["ndcg@10"])
                        wins = results["hybrid"]["ndcg@10"] >= best_leg
                        rows.setdefault((contextual, label(tuning)), []).append(
                            (results["hybrid"], wins)
                        )
                        if heldout:
                            print(f"{report.dataset} context={contextual} {split}:")
                            for mode, values in results.items():
                                shown = " ".join(f"{m} {values[m]:.3f}" for m in SCORED)
                                print(f"  {mode:7} {shown}")
    print(f"\n{split} questions, hybrid, mean over {len(folders)} sets:")
    ranked = sorted(rows.items(), key=lambda item: -_mean(item[1], "ndcg@10"))
    for (contextual, name), values in ranked:
        metrics = " ".join(f"{m} {_mean(values, m):.3f}" for m in SCORED)
        wins = sum(w for _, w in values)
        print(f"context={contextual!s:5} {name}  {metrics}  hybrid>=legs {wins}/{len(values)}")


def _mean(values: list[tuple[dict[str, float], bool]], metric: str) -> float:
    return sum(v[metric] for v, _ in values) / len(values)


if __name__ == "__main__":
    main(sys.argv[1:])
