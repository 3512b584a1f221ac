"""Can any fusion of today's two legs beat the better leg on every labelled set?

    python benchmarks/bench_fusion_grid.py [--heldout] [DATASET_DIR ...]

Each set in datasets/ is indexed once (the defaults: contextual chunks,
aliases). Every question is searched once per leg (``dense``, ``text``) 200
deep with per-page diversity off, and once in ``hybrid`` with the current
settings. The fusion methods below are then replayed offline over those two
ranked lists, so dozens of methods cost no extra search; the replay of the
current setting must reproduce the real ``hybrid`` row exactly (it is printed
next to it, and the script stops if they differ).

Methods: weighted RRF (k x leg weights), convex combination of min-max
normalised scores (``cc``), distribution-based score fusion (``dbsf``: mean
+-3 sd; the same ranking as z-scores), and a confidence-adaptive RRF (``adapt``: a leg's
weight grows with how far its top score stands out from its next 19).

Page-level nDCG@10 / hit@5 / hit@10 per set; ``never loses`` marks a method
that is at least the better single leg on nDCG@10 and hit@10 on every set.
Choose on the ``tune`` questions. ``--heldout`` also reports the held-out part and,
per set, the best any method reaches there - an upper bound for what choosing
a fusion can do, not a way to choose one.
"""

from __future__ import annotations

import itertools
import statistics
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from _services import private_database

from tidyllm import UnifiedSessionManager
from tidyllm.knowledge.evaluation import DEPTH, find_datasets, hit, indexed, ndcg
from tidyllm.knowledge.search import search

DATASETS = Path(__file__).resolve().parents[1] / "datasets"
LEG_DEPTH = 200


@dataclass(frozen=True)
class Ranked:
    """One leg's row: chunk, its page's corpus id (None: not a labelled page), score, rank."""

    chunk: int
    page: str | None
    score: float
    rank: int


@dataclass(frozen=True)
class Question:
    split: str
    relevant: Mapping[str, int]
    dense: list[Ranked]
    text: list[Ranked]
    hybrid: list[Ranked]


Scores = dict[int, float]
Fusion = Callable[[list[Ranked], list[Ranked]], Scores]


def rrf(k: int, dense_weight: float, text_weight: float) -> Fusion:
    def fuse(dense: list[Ranked], text: list[Ranked]) -> Scores:
        scores: Scores = {}
        for leg, weight in ((dense, dense_weight), (text, text_weight)):
            for r in leg:
                scores[r.chunk] = scores.get(r.chunk, 0.0) + weight / (k + r.rank)
        return scores

    return fuse


def _min_max(leg: list[Ranked]) -> Scores:
    if not leg:
        return {}
    low, high = min(r.score for r in leg), max(r.score for r in leg)
    return {r.chunk: (r.score - low) / (high - low) if high > low else 1.0 for r in leg}


def _dbsf(leg: list[Ranked]) -> Scores:
    if len(leg) < 2:
        return {r.chunk: 1.0 for r in leg}
    mean, sd = statistics.fmean(r.score for r in leg), statistics.pstdev(r.score for r in leg)
    low, span = mean - 3 * sd, 6 * sd or 1.0
    return {r.chunk: (r.score - low) / span for r in leg}


def combined(normalise: Callable[[list[Ranked]], Scores], dense_share: float) -> Fusion:
    """``dense_share * dense + (1 - dense_share) * text`` after ``normalise``; absent = leg min."""

    def fuse(dense: list[Ranked], text: list[Ranked]) -> Scores:
        nd, nt = normalise(dense), normalise(text)
        floor_d, floor_t = min(nd.values(), default=0.0), min(nt.values(), default=0.0)
        return {
            c: dense_share * nd.get(c, floor_d) + (1 - dense_share) * nt.get(c, floor_t)
            for c in nd.keys() | nt.keys()
        }

    return fuse


def standout(leg: list[Ranked]) -> float:
    """How many standard deviations the top score lies above the next 19."""
    if len(leg) < 5:
        return 0.0
    rest = [r.score for r in leg[1:20]]
    return (leg[0].score - statistics.fmean(rest)) / (statistics.pstdev(rest) or 1e-9)


def adaptive(k: int, gain: float, threshold: float) -> Fusion:
    def fuse(dense: list[Ranked], text: list[Ranked]) -> Scores:
        weight_d = 1 + gain * max(0.0, standout(dense) - threshold)
        weight_t = 1 + gain * max(0.0, standout(text) - threshold)
        return rrf(k, weight_d, weight_t)(dense, text)

    return fuse


def methods() -> dict[str, Fusion]:
    grid: dict[str, Fusion] = {}
    for k, (wd, wt) in itertools.product((10, 30, 60), ((1, 1), (1, 0.5), (0.5, 1))):
        grid[f"rrf k={k} w={wd}/{wt}"] = rrf(k, wd, wt)
    for share in (0.3, 0.4, 0.5, 0.6, 0.7):
        for name, normalise in (("cc", _min_max), ("dbsf", _dbsf)):
            grid[f"{name} dense={share}"] = combined(normalise, share)
    for k, gain, threshold in itertools.product((10, 30, 60), (0.25, 0.5, 1, 2), (0.5, 1, 2, 3)):
        grid[f"adapt k={k} gain={gain} t={threshold}"] = adaptive(k, gain, threshold)
    return grid


def pages_in_order(order: Sequence[int], page_of: Mapping[int, str | None]) -> list[str]:
    seen: dict[str, None] = {}
    for chunk in order:
        page = page_of.get(chunk)
        if page is not None:
            seen.setdefault(page, None)
    return list(seen)


def replay(q: Question, fuse: Fusion) -> list[str]:
    """The page ranking ``fuse`` gives; ties broken as the SQL does (dense rank, then id)."""
    scores = fuse(q.dense, q.text)
    dense_rank = {r.chunk: r.rank for r in q.dense}
    order = sorted(scores, key=lambda c: (-round(scores[c], 12), dense_rank.get(c, 1 << 30), c))
    return pages_in_order(order, {r.chunk: r.page for r in q.dense + q.text})


def metrics(pages: list[str], relevant: Mapping[str, int]) -> tuple[float, float, float]:
    return ndcg(pages, relevant, 10), hit(pages, relevant, 5), hit(pages, relevant, 10)


def collect(sm: UnifiedSessionManager, folder: Path) -> tuple[str, list[Question]]:
    raw = sm.settings.search.model_copy(update={"max_per_page": LEG_DEPTH})
    with indexed(sm, folder) as target:
        data = target.data
        ids = sorted(data.qrels)
        vectors = sm.embedder().embed([data.queries[q] for q in ids])
        questions = []
        for qid, vector in zip(ids, vectors, strict=True):

            def run(mode: str, qid: str = qid, vector=vector) -> list[Ranked]:
                deep = mode != "hybrid"
                result = search(
                    sm,
                    target.domain,
                    data.queries[qid],
                    k=LEG_DEPTH if deep else DEPTH,
                    candidates=LEG_DEPTH if deep else None,
                    mode=mode,
                    query_vector=vector,
                    tuning=raw if deep else None,
                )
                rank = {"dense": "dense_rank", "text": "text_rank", "hybrid": None}[mode]
                return [
                    Ranked(
                        h.chunk_id,
                        target.pages.get((h.source_uri, h.page)),
                        h.score,
                        getattr(h, rank) if rank else i,
                    )
                    for i, h in enumerate(result.hits, 1)
                ]

            split = str(data.query_metadata.get(qid, {}).get("split", "all"))
            questions.append(
                Question(split, data.qrels[qid], run("dense"), run("text"), run("hybrid"))
            )
        return data.name, questions


def report(sets: dict[str, list[Question]], split: str, heldout: bool, current: Fusion) -> None:
    names = list(sets)
    table: dict[str, dict[str, tuple[float, float, float]]] = {}

    def mean(rows: list[tuple[float, float, float]]) -> tuple[float, float, float]:
        return tuple(statistics.fmean(col) for col in zip(*rows, strict=True))  # type: ignore[return-value]

    for set_name, questions in sets.items():
        chosen = [q for q in questions if q.split == split]
        for q in chosen:
            real = pages_in_order([r.chunk for r in q.hybrid], _pages(q))
            if real[:10] != replay(q, current)[:10]:
                sys.exit(f"{set_name}: the replay of the current RRF differs from real hybrid")
        legs = {
            "dense": lambda q: pages_in_order([r.chunk for r in q.dense], _pages(q)),
            "text": lambda q: pages_in_order([r.chunk for r in q.text], _pages(q)),
            "real hybrid": lambda q: pages_in_order([r.chunk for r in q.hybrid], _pages(q)),
        }
        for name, rank in legs.items():
            table.setdefault(name, {})[set_name] = mean(
                [metrics(rank(q), q.relevant) for q in chosen]
            )
        for name, fuse in methods().items():
            table.setdefault(name, {})[set_name] = mean(
                [metrics(replay(q, fuse), q.relevant) for q in chosen]
            )
    print(f"\n{split} questions: nDCG@10 / hit@5 / hit@10 per set")
    print(f"{'method':30}" + "".join(f"{n[:22]:>24}" for n in names) + "   mean  never loses")
    for name, row in sorted(
        table.items(), key=lambda kv: -statistics.fmean(v[0] for v in kv[1].values())
    ):
        cells = "".join(f"{row[n][0]:.3f}/{row[n][1]:.2f}/{row[n][2]:.2f}".rjust(24) for n in names)
        average = statistics.fmean(row[n][0] for n in names)
        wins = "yes" if _never_loses(table, row, names) else ""
        print(f"{name:30}{cells}  {average:.3f}  {wins}")
    if heldout:
        fusions = {k: v for k, v in table.items() if k not in ("dense", "text", "real hybrid")}
        winners = sum(_never_loses(table, r, names) for r in fusions.values())
        print(f"\nnever loses on all sets: {winners} of {len(fusions)} methods")
        for n in names:
            best = max(fusions, key=lambda k: fusions[k][n][0])
            best5 = max(fusions, key=lambda k: fusions[k][n][1])
            legs = max(table["dense"][n][0], table["text"][n][0])
            print(
                f"{n}: better leg nDCG@10 {legs:.3f};"
                f" best method {fusions[best][n][0]:.3f} ({best});"
                f" best hit@5 {fusions[best5][n][1]:.3f} ({best5})"
            )


def _pages(q: Question) -> dict[int, str | None]:
    return {r.chunk: r.page for r in q.dense + q.text + q.hybrid}


def _never_loses(table: dict, row: dict, names: list[str]) -> bool:
    return all(
        row[n][0] >= max(table["dense"][n][0], table["text"][n][0]) - 1e-9
        and row[n][2] >= max(table["dense"][n][2], table["text"][n][2]) - 1e-9
        for n in names
    )


def main(argv: list[str]) -> None:
    heldout = "--heldout" in argv
    folders = [Path(a) for a in argv if a != "--heldout"] or find_datasets(DATASETS)
    with (
        private_database("bench-fusion-") as (root, url),
        UnifiedSessionManager(data_dir=root / "data", database={"url": url}) as sm,
    ):
        now = sm.settings.search
        current = rrf(now.rrf_k, now.dense_weight, now.text_weight)
        sets = dict(collect(sm, folder) for folder in folders)
    report(sets, "tune", False, current)
    if heldout:
        report(sets, "heldout", True, current)


if __name__ == "__main__":
    main(sys.argv[1:])
