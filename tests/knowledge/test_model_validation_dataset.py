"""The labelled multi-document dataset datasets/model-validation: what is particular to it
(ten files, question ids, the README's counts, a build refusing drifted text). The checks
every set shares (consistent files, a faithful build) are in test_page_qa_datasets.py.

Pure file checks: nothing here extracts a PDF or touches a database. The
committed corpus is the extractor's text, so the build script's check and
writer are exercised on the committed pages instead.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from dataset_checks import DATASETS, build_module, committed, page_qa, rows

MV_SET = DATASETS / "model-validation"
build = build_module(MV_SET)


def _rows(name: str) -> list[dict]:
    return rows(MV_SET, name)


def _committed() -> dict[str, tuple[str | None, dict[int, str]]]:
    """{source file: (title, {page: text})} from corpus.jsonl, in corpus order."""
    return committed(MV_SET)


def test_the_question_ids_and_count() -> None:
    """At least 40 questions, ids ``mvNN`` (the shared checks are in test_page_qa_datasets.py)."""
    query_ids = [row["_id"] for row in _rows("queries.jsonl")]
    assert len(query_ids) >= 40
    assert all(re.fullmatch(r"mv\d\d", qid) for qid in query_ids)


def test_the_corpus_covers_the_ten_files_and_every_file_has_questions() -> None:
    assert len(build.FILES) == 10
    assert list(_committed()) == list(build.FILES)
    asked = [query["metadata"]["source"] for query in _rows("queries.jsonl")]
    assert set(asked) <= set(build.FILES)
    assert all(asked.count(name) >= 2 for name in build.FILES)


def test_the_readme_states_the_counts() -> None:
    """The README's paraphrased list names real questions, two thirds of them at least."""
    readme = (MV_SET / "README.md").read_text("utf-8")
    query_ids = [row["_id"] for row in _rows("queries.jsonl")]
    found = re.search(r"^Paraphrased \((\d+) of (\d+)\): (.+)$", readme, re.MULTILINE)
    assert found is not None
    paraphrased = [qid.strip() for qid in found.group(3).split(",")]
    assert int(found.group(1)) == len(paraphrased) == len(set(paraphrased))
    assert int(found.group(2)) == len(query_ids)
    assert set(paraphrased) <= set(query_ids)
    assert len(paraphrased) * 3 >= len(query_ids) * 2


@pytest.mark.parametrize(
    ("source", "damage", "message"),
    [
        (
            build.BCBS,
            lambda pages: pages.update({38: pages[38].replace("50% and", "50 and")}),
            "mv53",
        ),
        (build.ECB, lambda pages: pages.pop(70), r"mv70: pages \[70\] have no text"),
    ],
)
def test_the_build_refuses_text_that_lost_an_answer(
    tmp_path: Path, source, damage, message
) -> None:
    """Extraction drift (a changed phrase, a missing page) stops the build; nothing is written."""
    documents = _committed()
    damage(documents[source][1])
    with pytest.raises(SystemExit, match=message):
        page_qa.write_documents(tmp_path, build.QUESTIONS, documents)
    assert list(tmp_path.iterdir()) == []
