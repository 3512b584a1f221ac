"""What every labelled page set under datasets/ must satisfy: consistent files and a faithful
build.

Pure file checks: nothing here extracts a PDF, runs OCR or touches a database. The committed
corpus is the extractor's text, so each build's writer is run on the committed pages and must
reproduce the committed files byte for byte. What is particular to one set (its counts, id
formats, paraphrase marks, README) is tested in that set's own module.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest
from dataset_checks import DATASETS, Documents, build_module, committed, page_qa, rows

from tidyllm.knowledge.evaluation import load_beir


def _single(documents: Documents) -> tuple[str, str | None, dict[int, str]]:
    ((source, (title, pages)),) = documents.items()
    return source, title, pages


def _write_fed(build: ModuleType, documents: Documents, folder: Path) -> None:
    source, _, pages = _single(documents)  # build.main extracts, then writes like this
    page_qa.write(folder, build.QUESTIONS, pages, {"source": source})


def _write_patent(build: ModuleType, documents: Documents, folder: Path) -> None:
    source, _, pages = _single(documents)
    build.write(pages, source, folder=folder)


def _write_annual_report(build: ModuleType, documents: Documents, folder: Path) -> None:
    _, title, pages = _single(documents)
    build.write(title, pages, folder=folder)


def _write_model_validation(build: ModuleType, documents: Documents, folder: Path) -> None:
    page_qa.write_documents(folder, build.QUESTIONS, documents)


#: Every set: (its corpus ids carry the source's stem, how its build writes the committed text).
SETS: dict[str, tuple[bool, Callable[[ModuleType, Documents, Path], None]]] = {
    "fed-sr-2015": (False, _write_fed),
    "model-validation": (True, _write_model_validation),
    "patent-12290739": (False, _write_patent),
    "wfc-annual-report-2024": (True, _write_annual_report),
}


def test_every_set_under_datasets_is_checked_here() -> None:
    found = sorted(p.parent.name for p in DATASETS.glob("*/queries.jsonl"))
    assert found == sorted(SETS)


@pytest.mark.parametrize("name", sorted(SETS))
def test_the_files_are_consistent(name: str) -> None:
    folder, (keyed, _) = DATASETS / name, SETS[name]
    corpus, queries = rows(folder, "corpus.jsonl"), rows(folder, "queries.jsonl")

    def page_id(source: str, page: int) -> str:
        return page_qa.page_id(Path(source).stem if keyed else None, page)

    corpus_ids = [row["_id"] for row in corpus]
    query_ids = [row["_id"] for row in queries]
    assert len(set(corpus_ids)) == len(corpus_ids) > 0
    for row in corpus:
        meta = row["metadata"]
        assert row["_id"] == page_id(meta["source"], meta["page"]), row["_id"]
        assert row["text"].strip(), row["_id"]
    assert len(set(query_ids)) == len(query_ids) > 0
    lines = (folder / "qrels" / "test.tsv").read_text("utf-8").splitlines()
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
    sources = {row["metadata"]["source"] for row in corpus}
    for query in queries:
        meta = query["metadata"]
        pages = meta["pages"]
        assert meta["source"] in sources and pages, query["_id"]
        first = page_id(meta["source"], pages[0])
        grades = judged[query["_id"]]
        assert sorted(grades) == sorted(page_id(meta["source"], p) for p in pages), query["_id"]
        assert grades[first] == 2, query["_id"]  # the answer's page is listed first
        assert page_qa.norm(meta["answer"]) in page_qa.norm(text[first]), query["_id"]
    splits = [query["metadata"]["split"] for query in queries]
    assert set(splits) == {"tune", "heldout"}  # both parts non-empty
    assert splits == [page_qa.split_of(folder.name, qid) for qid in query_ids]
    data = load_beir(folder)  # and the loader the evaluation uses agrees (files only)
    assert (len(data.corpus), len(data.qrels)) == (len(corpus), len(queries))


@pytest.mark.parametrize("name", sorted(SETS))
def test_the_build_reproduces_the_committed_files(tmp_path: Path, name: str) -> None:
    """Run the set's writer on the committed page text: the same bytes come out."""
    source, (_, write) = DATASETS / name, SETS[name]
    folder = tmp_path / name  # the split hashes the folder's name
    folder.mkdir()
    write(build_module(source), committed(source), folder)
    for file in ("corpus.jsonl", "queries.jsonl", "qrels/test.tsv"):
        assert (folder / file).read_bytes() == (source / file).read_bytes(), file
