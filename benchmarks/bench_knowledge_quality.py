"""Retrieval and answer quality on every labelled set in datasets/: before and after, per split.

    python benchmarks/bench_knowledge_quality.py [--no-answers] [DATASET_DIR ...]

Real all-MiniLM-L6-v2 embeddings; the same code path as ``tidyllm eval``
(each source file indexed as one multi-page document, each query embedded
once, page-level metrics). Configurations, each on the tune and held-out
questions:

* ``before`` - the ranking of the previous release recreated: ``ts_rank``
  for the full-text leg, chunks without title/heading context or
  abbreviation aliases, RRF k=60 with equal weights;
* ``after`` - the current defaults (``search.*`` settings, contextual chunks,
  aliases), with ``ask`` answers scored where the set has answer phrases;
* three ablations of ``after`` (hybrid only): ``ts_rank`` instead of BM25,
  no context, no aliases.

Prints one Markdown table (docs/knowledge.md holds its last output) and, per
set, whether hybrid >= the better single leg on nDCG@10 and hit@10 (held out).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from _services import private_database

from tidyllm import UnifiedSessionManager
from tidyllm.embedding import MiniLMEmbedder
from tidyllm.knowledge.evaluation import EvalReport, find_datasets, indexed, measure
from tidyllm.settings import SearchSettings

DATASETS = Path(__file__).resolve().parents[1] / "datasets"
COLUMNS = ("ndcg@10", "hit@1", "hit@5", "hit@10", "mrr@10", "cites_page", "has_phrase")
SPLITS = ("tune", "heldout")
BEFORE = SearchSettings(text_ranking="ts_rank", rrf_k=60, dense_weight=1.0, text_weight=1.0)


class MemoEmbedder:
    """The default embedder, remembering each text's vector: the configurations share most
    chunk texts, and embedding them again would only repeat identical work."""

    def __init__(self, inner: MiniLMEmbedder) -> None:
        self.inner, self.name, self.dimension = inner, inner.name, inner.dimension
        self.memo: dict[str, np.ndarray] = {}

    def embed(self, texts, *, batch_size=None) -> np.ndarray:
        missing = list(dict.fromkeys(t for t in texts if t not in self.memo))
        if missing:
            for text, vector in zip(missing, self.inner.embed(missing), strict=True):
                self.memo[text] = vector
        return np.stack([self.memo[t] for t in texts]) if texts else self.inner.embed([])

    def embed_query(self, text: str) -> np.ndarray:
        return self.inner.embed_query(text)


class MemoSessionManager(UnifiedSessionManager):
    def _make_embedder(self) -> MemoEmbedder:
        return MemoEmbedder(super()._make_embedder())


def run_set(sm, folder: Path, answers: bool) -> dict[str, EvalReport]:
    """Every configuration of one dataset: name -> report."""
    after = sm.settings.search
    reports: dict[str, EvalReport] = {}
    variants = [
        ("before", False, False, [("before", BEFORE, False)]),
        (
            "after",
            True,
            True,
            [
                ("after", after, answers),
                ("ts_rank", after.model_copy(update={"text_ranking": "ts_rank"}), False),
            ],
        ),
        ("no context", False, True, [("no context", after, False)]),
        ("no aliases", True, False, [("no aliases", after, False)]),
    ]
    for label, contextual, aliases, runs in variants:
        print(f"  indexing {folder.name} ({label})", file=sys.stderr, flush=True)
        with indexed(sm, folder, contextual=contextual, with_aliases=aliases) as target:
            for name, tuning, with_answers in runs:
                reports[name] = measure(sm, target, tuning=tuning, answers=with_answers)
    return reports


def main(argv: list[str]) -> None:
    answers = "--no-answers" not in argv
    folders = [Path(a) for a in argv if not a.startswith("--")] or find_datasets(DATASETS)
    header = "| set | split | config | mode | " + " | ".join(COLUMNS) + " |"
    lines = [header, "|" + "---|" * (4 + len(COLUMNS))]
    verdicts = []
    with (
        private_database("bench-quality-") as (root, url),
        MemoSessionManager(data_dir=root / "data", database={"url": url}) as sm,
    ):
        for folder in folders:
            reports = run_set(sm, folder, answers)
            for split in SPLITS:
                for name, report in reports.items():
                    if split not in report.by_split:
                        continue
                    modes = report.by_split[split]
                    shown = modes if name in ("before", "after") else {"hybrid": modes["hybrid"]}
                    for mode, values in shown.items():
                        cells = (f"{values[c]:.3f}" if c in values else "" for c in COLUMNS)
                        size = report.split_sizes[split]
                        lines.append(
                            f"| {report.dataset} | {split} ({size}) | {name} | {mode} | "
                            + " | ".join(cells)
                            + " |"
                        )
            held = reports["after"].by_split.get("heldout", reports["after"].results)
            for metric in ("ndcg@10", "hit@10"):
                best = max(held["dense"][metric], held["text"][metric])
                ok = held["hybrid"][metric] >= best
                verdicts.append(
                    f"{folder.name}: held-out hybrid {metric} {held['hybrid'][metric]:.3f} vs best "
                    f"leg {best:.3f}: {'ok' if ok else 'LOSES'}"
                )
    print("\n".join(lines))
    print()
    print("\n".join(verdicts))


if __name__ == "__main__":
    main(sys.argv[1:])
