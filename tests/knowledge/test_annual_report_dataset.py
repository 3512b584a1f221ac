"""The labelled annual-report dataset datasets/wfc-annual-report-2024: consistent files and a
faithful build.

Pure file checks: nothing here extracts the PDF or touches a database. The
committed corpus is the extractor's text, so the build script's check and
writer are exercised on the committed pages instead.
"""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path
from types import ModuleType

import pytest

DATASETS = Path(__file__).resolve().parents[2] / "datasets"
REPORT_SET = DATASETS / "wfc-annual-report-2024"
SOURCE = "wfc-annual-report-q42024.pdf"
KEY = "wfc-annual-report-q42024"


def _load(name: str, path: Path) -> ModuleType:
    """A module from a file under datasets/ (they are scripts, not an installed package)."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


page_qa = _load("page_qa", DATASETS / "page_qa.py")  # the builders' shared norm and split


def _rows(name: str) -> list[dict]:
    return [json.loads(line) for line in (REPORT_SET / name).read_text("utf-8").splitlines()]


def _build_module() -> ModuleType:
    """The dataset's build.py as a module (tests pass ``folder=tmp_path`` to its writer)."""
    return _load("annual_report_build", REPORT_SET / "build.py")


def _committed() -> tuple[str | None, dict[int, str]]:
    rows = _rows("corpus.jsonl")
    return rows[0]["metadata"].get("title"), {r["metadata"]["page"]: r["text"] for r in rows}


def test_the_files_are_consistent() -> None:
    corpus, queries = _rows("corpus.jsonl"), _rows("queries.jsonl")
    corpus_ids = [row["_id"] for row in corpus]
    query_ids = [row["_id"] for row in queries]
    assert len(set(corpus_ids)) == len(corpus_ids) > 0
    assert all(re.fullmatch(rf"{KEY}/page-\d+", cid) for cid in corpus_ids)
    assert all(row["metadata"]["source"] == SOURCE for row in corpus)
    assert len(set(query_ids)) == len(query_ids) >= 30
    lines = (REPORT_SET / "qrels" / "test.tsv").read_text("utf-8").splitlines()
    assert lines[0] == "query-id\tcorpus-id\tscore"
    judged: dict[str, dict[str, int]] = {}
    for line in lines[1:]:
        query_id, doc_id, score = line.split("\t")
        assert query_id in query_ids and doc_id in corpus_ids, line
        assert doc_id not in judged.get(query_id, {}), f"duplicate judgement {line}"
        assert int(score) in (1, 2), line
        judged.setdefault(query_id, {})[doc_id] = int(score)
    assert sorted(judged) == sorted(query_ids)  # every query has qrels
    text = {row["_id"]: row["text"] for row in corpus}
    for query in queries:
        meta = query["metadata"]
        pages = meta["pages"]
        assert meta["source"] == SOURCE, query["_id"]
        assert sorted(judged[query["_id"]]) == sorted(f"{KEY}/page-{p}" for p in pages)
        assert judged[query["_id"]][f"{KEY}/page-{pages[0]}"] == 2, query["_id"]
        answer = page_qa.norm(meta["answer"])
        assert answer in page_qa.norm(text[f"{KEY}/page-{pages[0]}"]), query["_id"]
    splits = [query["metadata"]["split"] for query in queries]
    assert set(splits) == {"tune", "heldout"}  # both parts non-empty
    assert splits == [page_qa.split_of(REPORT_SET.name, qid) for qid in query_ids]


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


def test_the_build_reproduces_the_committed_files(tmp_path: Path) -> None:
    """Run build.py's writer on the committed page text: the same bytes come out."""
    build = _build_module()
    title, pages = _committed()
    folder = tmp_path / REPORT_SET.name  # the split hashes the folder name
    folder.mkdir()
    build.write(title, pages, folder=folder)
    for name in ("corpus.jsonl", "queries.jsonl", "qrels/test.tsv"):
        assert (folder / name).read_bytes() == (REPORT_SET / name).read_bytes(), name


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda pages: pages.update({268: pages[268].replace("525,891", "525 891")}), "ar39"),
        (lambda pages: pages.pop(204), r"ar01: pages \[204\] have no text"),
    ],
)
def test_the_build_refuses_text_that_lost_an_answer(tmp_path: Path, damage, message) -> None:
    """Extraction drift (a changed cell, a lost page) stops the build before anything is written."""
    build = _build_module()
    title, pages = _committed()
    damage(pages)
    with pytest.raises(SystemExit, match=message):
        build.write(title, pages, folder=tmp_path)
    assert list(tmp_path.iterdir()) == []
