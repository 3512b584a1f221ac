"""The labelled annual-report dataset datasets/wfc-annual-report-2024: what is particular to it
(one source, the question marks, the README, a build refusing drifted text). The checks
every set shares (consistent files, a faithful build) are in test_page_qa_datasets.py.

Pure file checks: nothing here extracts the PDF or touches a database. The
committed corpus is the extractor's text, so the build script's check and
writer are exercised on the committed pages instead.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from dataset_checks import DATASETS, build_module, committed, rows

REPORT_SET = DATASETS / "wfc-annual-report-2024"
SOURCE = "wfc-annual-report-q42024.pdf"
KEY = "wfc-annual-report-q42024"


def _rows(name: str) -> list[dict]:
    return rows(REPORT_SET, name)


def _committed() -> tuple[str | None, dict[int, str]]:
    return committed(REPORT_SET)[SOURCE]


def test_the_files_name_the_report() -> None:
    """One source, the 10-K, and at least 30 questions (the shared checks are in
    test_page_qa_datasets.py)."""
    corpus, queries = _rows("corpus.jsonl"), _rows("queries.jsonl")
    assert all(re.fullmatch(rf"{KEY}/page-\d+", row["_id"]) for row in corpus)
    assert all(row["metadata"]["source"] == SOURCE for row in corpus)
    assert all(query["metadata"]["source"] == SOURCE for query in queries)
    assert len(queries) >= 30


def test_the_question_marks_match_the_readme() -> None:
    """Every question is marked text/table and literal/paraphrased; two thirds are paraphrased."""
    source = (REPORT_SET / "build.py").read_text("utf-8")
    marks = re.findall(r'^    \("(ar\d+)", .*# (text|table), (literal|paraphrased)$', source, re.M)
    assert sorted(m[0] for m in marks) == sorted(row["_id"] for row in _rows("queries.jsonl"))
    paraphrased = [qid for qid, _, how in marks if how == "paraphrased"]
    assert len(paraphrased) * 3 >= len(marks) * 2
    kinds = [kind for _, kind, _ in marks]
    assert kinds.count("table") >= len(marks) // 3 and kinds.count("text") >= len(marks) // 3
    readme = (REPORT_SET / "README.md").read_text("utf-8")
    assert all(qid in readme for qid in paraphrased)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda pages: pages.update({268: pages[268].replace("525,891", "525 891")}), "ar39"),
        (lambda pages: pages.pop(204), r"ar01: pages \[204\] have no text"),
    ],
)
def test_the_build_refuses_text_that_lost_an_answer(tmp_path: Path, damage, message) -> None:
    """Extraction drift (a changed cell, a lost page) stops the build before anything is written."""
    build = build_module(REPORT_SET)
    title, pages = _committed()
    damage(pages)
    with pytest.raises(SystemExit, match=message):
        build.write(title, pages, folder=tmp_path)
    assert list(tmp_path.iterdir()) == []
