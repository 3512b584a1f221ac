"""The labelled OCR dataset datasets/patent-12290739: consistent files, a faithful build, a
deterministic evaluation.

The committed corpus is the OCR text, so nothing here runs OCR: the build
script's own check and writer are exercised on the committed pages instead.
"""

from __future__ import annotations

import importlib.util
import json
import re
import unicodedata
from pathlib import Path
from types import ModuleType

import pytest

from tidyllm.knowledge.evaluation import METRICS, evaluate, load_beir

PATENT_SET = Path(__file__).resolve().parents[2] / "datasets" / "patent-12290739"
PAGES = 18


def _rows(name: str) -> list[dict]:
    return [json.loads(line) for line in (PATENT_SET / name).read_text("utf-8").splitlines()]


def _squash(text: str) -> str:
    """The build's normalisation: NFKC, soft hyphens and U+FFFE dropped, whitespace collapsed."""
    text = unicodedata.normalize("NFKC", text).replace("\ufffe", "").replace("\u00ad", "")
    return " ".join(text.split()).casefold()


def _build_module() -> ModuleType:
    """The dataset's build.py as a module (tests pass ``folder=tmp_path`` to its writer)."""
    spec = importlib.util.spec_from_file_location("patent_build", PATENT_SET / "build.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _committed_pages() -> dict[int, str]:
    return {row["metadata"]["page"]: row["text"] for row in _rows("corpus.jsonl")}


def test_the_files_are_consistent() -> None:
    corpus, queries = _rows("corpus.jsonl"), _rows("queries.jsonl")
    corpus_ids = [row["_id"] for row in corpus]
    query_ids = [row["_id"] for row in queries]
    assert len(set(corpus_ids)) == len(corpus_ids) == PAGES
    assert corpus_ids == [f"page-{n}" for n in range(1, PAGES + 1)]
    assert len(set(query_ids)) == len(query_ids) and 20 <= len(query_ids) <= 30
    lines = (PATENT_SET / "qrels" / "test.tsv").read_text("utf-8").splitlines()
    assert lines[0] == "query-id\tcorpus-id\tscore"
    judged: dict[str, dict[str, int]] = {}
    for line in lines[1:]:
        query_id, doc_id, score = line.split("\t")
        assert query_id in query_ids and doc_id in corpus_ids, line
        assert doc_id not in judged.get(query_id, {}), f"duplicate judgement {line}"
        assert int(score) in (1, 2), line
        judged.setdefault(query_id, {})[doc_id] = int(score)
    text = {row["_id"]: row["text"] for row in corpus}
    for query in queries:
        pages = query["metadata"]["pages"]
        assert pages and all(1 <= p <= PAGES for p in pages), query["_id"]
        grades = judged[query["_id"]]
        assert sorted(grades) == sorted(f"page-{p}" for p in pages), query["_id"]
        assert 2 in grades.values(), query["_id"]
        answer = _squash(query["metadata"]["answer"])
        assert answer in _squash(text[f"page-{pages[0]}"]), query["_id"]
    data = load_beir(PATENT_SET)  # and the loader the evaluation uses agrees
    assert (len(data.corpus), len(data.qrels)) == (PAGES, len(queries))


def test_at_least_half_the_questions_are_paraphrased() -> None:
    source = (PATENT_SET / "build.py").read_text("utf-8")
    marked = dict(re.findall(r'^    \("(q\d+)", .*# (literal|paraphrased)$', source, re.MULTILINE))
    assert sorted(marked) == sorted(row["_id"] for row in _rows("queries.jsonl"))
    marks = list(marked.values())
    assert marks.count("paraphrased") * 2 >= len(marks)


def test_the_build_reproduces_the_committed_files(tmp_path: Path) -> None:
    """Run build.py's writer on the committed OCR text: the same bytes come out."""
    build = _build_module()
    folder = tmp_path / PATENT_SET.name  # the split is hashed from the set's folder name
    folder.mkdir()
    build.write(_committed_pages(), "us-patent-12290739.pdf", folder=folder)
    for name in ("corpus.jsonl", "queries.jsonl", "qrels/test.tsv"):
        assert (folder / name).read_bytes() == (PATENT_SET / name).read_bytes(), name


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
    build = _build_module()
    pages = _committed_pages()
    damage(pages)
    with pytest.raises(SystemExit, match=message):
        build.write(pages, "us-patent-12290739.pdf", folder=tmp_path)
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
