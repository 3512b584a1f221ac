"""The labelled OCR dataset datasets/patent-12290739: what is particular to it (its pages, the
paraphrase marks, a build refusing OCR drift) and a deterministic evaluation. The checks every
set shares (consistent files, a faithful build) are in test_page_qa_datasets.py.

The committed corpus is the OCR text, so nothing here runs OCR: the build
script's own check and writer are exercised on the committed pages instead.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from dataset_checks import DATASETS, build_module, committed, rows

from tidyllm.knowledge.evaluation import METRICS, evaluate

PATENT_SET = DATASETS / "patent-12290739"
SOURCE = "us-patent-12290739.pdf"
PAGES = 18


def _rows(name: str) -> list[dict]:
    return rows(PATENT_SET, name)


def _committed_pages() -> dict[int, str]:
    return committed(PATENT_SET)[SOURCE][1]


def test_the_files_hold_the_patents_pages() -> None:
    """18 pages ``page-1``..``page-18``, 20 to 30 questions on them (the shared checks are in
    test_page_qa_datasets.py)."""
    corpus_ids = [row["_id"] for row in _rows("corpus.jsonl")]
    assert corpus_ids == [f"page-{n}" for n in range(1, PAGES + 1)]
    queries = _rows("queries.jsonl")
    assert 20 <= len(queries) <= 30
    for query in queries:
        pages = query["metadata"]["pages"]
        assert pages and all(1 <= p <= PAGES for p in pages), query["_id"]


def test_at_least_half_the_questions_are_paraphrased() -> None:
    source = (PATENT_SET / "build.py").read_text("utf-8")
    marked = dict(re.findall(r'^    \("(q\d+)", .*# (literal|paraphrased)$', source, re.MULTILINE))
    assert sorted(marked) == sorted(row["_id"] for row in _rows("queries.jsonl"))
    marks = list(marked.values())
    assert marks.count("paraphrased") * 2 >= len(marks)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda pages: pages.update({1: pages[1].replace("Skeete", "Skeet")}), "q01"),
        (lambda pages: pages.update({17: pages[17].replace("one-tenth", "one-tent h")}), "q24"),
        (lambda pages: pages.pop(8), r"q22: pages \[8\] have no text"),
        (lambda pages: pages.update({18: ""}), "is not on page 18"),
    ],
)
def test_the_build_refuses_text_that_lost_an_answer(tmp_path: Path, damage, message) -> None:
    """OCR drift (a changed word, a missing page) stops the build before any file is written."""
    build = build_module(PATENT_SET)
    pages = _committed_pages()
    damage(pages)
    with pytest.raises(SystemExit, match=message):
        build.write(pages, SOURCE, folder=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_evaluation_runs_and_is_deterministic(sm) -> None:
    """What ``tidyllm eval --dataset datasets/patent-12290739`` computes, twice: same numbers."""
    first = evaluate(sm, PATENT_SET, log_run=False, answers=False)
    assert (first.dataset, first.queries, first.documents) == ("patent-12290739", 30, 1)
    assert first.chunks >= PAGES
    assert set(first.results) == {"hybrid", "dense", "text"}
    for values in first.results.values():
        assert set(values) == set(METRICS)
        assert all(0.0 <= v <= 1.0 for v in values.values())
    assert max(v["recall@100"] for v in first.results.values()) > 0.5  # it finds answers at all
    assert first.split_sizes == {"all": 30, "tune": 17, "heldout": 13}
    second = evaluate(sm, PATENT_SET, log_run=False, answers=False)
    assert second.by_split == first.by_split
    assert second.chunks == first.chunks
