"""Answer quality on the labelled page sets in datasets/: right page cited, answer phrase contained.

    python benchmarks/bench_answer_quality.py [--split tune|heldout|all]
        [--modes hybrid,dense,text] [--details FILE] [DATASET_DIR ...]

Each set is indexed into a scratch domain exactly as ``tidyllm eval`` does it
(:func:`tidyllm.knowledge.evaluation.indexed`: the pages of one source file
become one multi-page document ``beir/<file>``). Every question is asked with
the configured answerer (the offline extractive one by default) in each
retrieval mode and scored with :func:`tidyllm.answering.scoring.score_answer`
against the question's ``pages`` (metadata): a valid citation of one of those
pages, and the answer phrase in the answer text.

Tune on ``--split tune`` only; the held-out numbers are for reporting.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from _services import private_database

from tidyllm import UnifiedSessionManager
from tidyllm.answering import ask
from tidyllm.answering.scoring import ScoreTally, score_answer
from tidyllm.knowledge.evaluation import PREFIX, IndexedSet, indexed

DATASETS = Path(__file__).resolve().parents[1] / "datasets"
SPLITS = ("tune", "heldout")


def questions(folder: Path, splits: Sequence[str]) -> list[dict[str, Any]]:
    """The set's questions that have an answer phrase, in the given splits."""
    rows = [json.loads(line) for line in (folder / "queries.jsonl").read_text().splitlines()]
    return [
        r
        for r in rows
        if r and isinstance(r["metadata"].get("answer"), str) and r["metadata"]["split"] in splits
    ]


def answer_quality(
    sm: Any,
    target: IndexedSet,
    rows: Sequence[dict[str, Any]],
    mode: str,
    details: IO[str] | None = None,
) -> dict[str, ScoreTally]:
    """Ask every question in ``mode``; the tallies per split."""
    tallies: dict[str, ScoreTally] = {}
    for row in rows:
        meta = row["metadata"]
        relevant = {(PREFIX + meta["source"], page) for page in meta["pages"]}
        answer = ask(sm, target.domain, row["text"], mode=mode, trace=False)
        score = score_answer(answer, meta["answer"], relevant)
        tallies.setdefault(meta["split"], ScoreTally()).add(score)
        if details is not None:
            record = {
                "dataset": target.data.name,
                "mode": mode,
                "id": row["_id"],
                "split": meta["split"],
                "question": row["text"],
                "phrase": meta["answer"],
                "pages": meta["pages"],
                "answer": answer.text,
                "cited": [[c.source_uri, c.page] for c in answer.citations],
                "retrieved": [[s.hit.source_uri, s.hit.page] for s in answer.sources],
                "right_page": score.cites_right_page,
                "phrase_found": score.contains_phrase,
            }
            details.write(json.dumps(record) + "\n")
    return tallies


def line(dataset: str, mode: str, split: str, tally: ScoreTally) -> str:
    return (
        f"{dataset:24} {mode:7} {split:8} {tally.questions:3}"
        f" {tally.right_page:4} ({tally.right_page_rate:4.0%})"
        f" {tally.phrase:4} ({tally.phrase_rate:4.0%})"
    )


HEADER = f"{'dataset':24} {'mode':7} {'split':8} {'n':>3} {'right page':>11} {'phrase':>11}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="*", type=Path)
    parser.add_argument("--split", choices=(*SPLITS, "all"), default="all")
    parser.add_argument("--modes", default="hybrid,dense,text")
    parser.add_argument("--details", type=Path, help="write every answer and its score (JSONL)")
    args = parser.parse_args()
    folders = args.folders or sorted(
        p for p in DATASETS.iterdir() if (p / "queries.jsonl").exists()
    )
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    splits = SPLITS if args.split == "all" else (args.split,)
    details = args.details.open("w", encoding="utf-8") if args.details else None
    with (
        private_database("bench-answers-") as (root, url),
        UnifiedSessionManager(data_dir=root / "data", database={"url": url}) as sm,
    ):
        print(f"answerer: {sm.llm().provider}", flush=True)
        print(HEADER, flush=True)
        for folder in folders:
            rows = questions(folder, splits)
            with indexed(sm, folder) as target:
                for mode in modes:
                    started = time.perf_counter()
                    tallies = answer_quality(sm, target, rows, mode, details)
                    for split in splits:
                        print(line(folder.name, mode, split, tallies.get(split, ScoreTally())))
                    seconds = (time.perf_counter() - started) / max(1, len(rows))
                    print(f"{'':24} {mode:7} {seconds * 1000:.0f} ms per question", flush=True)
    if details:
        details.close()


if __name__ == "__main__":
    main()
