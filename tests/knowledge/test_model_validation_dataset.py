"""The labelled multi-document dataset datasets/model-validation: consistent files and a
faithful build.

Pure file checks: nothing here extracts a PDF or touches a database. The
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

from tidyllm.knowledge.evaluation import load_beir

DATASETS = Path(__file__).resolve().parents[2] / "datasets"
MV_SET = DATASETS / "model-validation"


def _load(name: str, path: Path) -> ModuleType:
    """A module from a file under datasets/ (they are scripts, not an installed package)."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


page_qa = _load("page_qa", DATASETS / "page_qa.py")  # the builders' shared norm and split
build = _load("model_validation_build", MV_SET / "build.py")


def _rows(name: str) -> list[dict]:
    return [json.loads(line) for line in (MV_SET / name).read_text("utf-8").splitlines()]


def _committed() -> dict[str, tuple[str | None, dict[int, str]]]:
    """{source file: (title, {page: text})} from corpus.jsonl, in corpus order."""
    documents: dict[str, tuple[str | None, dict[int, str]]] = {}
    for row in _rows("corpus.jsonl"):
        meta = row["metadata"]
        _, pages = documents.setdefault(meta["source"], (meta.get("title"), {}))
        pages[meta["page"]] = row["text"]
    return documents


def test_the_files_are_consistent() -> None:
    corpus, queries = _rows("corpus.jsonl"), _rows("queries.jsonl")
    corpus_ids = [row["_id"] for row in corpus]
    query_ids = [row["_id"] for row in queries]
    assert len(set(corpus_ids)) == len(corpus_ids) > 0
    for row in corpus:
        meta = row["metadata"]
        assert row["_id"] == f"{Path(meta['source']).stem}/page-{meta['page']}", row["_id"]
        assert row["text"].strip(), row["_id"]
    assert len(set(query_ids)) == len(query_ids) >= 40
    assert all(re.fullmatch(r"mv\d\d", qid) for qid in query_ids)
    lines = (MV_SET / "qrels" / "test.tsv").read_text("utf-8").splitlines()
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
        key, pages = Path(meta["source"]).stem, meta["pages"]
        assert meta["source"] in build.FILES, query["_id"]
        assert sorted(judged[query["_id"]]) == sorted(f"{key}/page-{p}" for p in pages)
        assert judged[query["_id"]][f"{key}/page-{pages[0]}"] == 2, query["_id"]
        answer = page_qa.norm(meta["answer"])
        assert answer in page_qa.norm(text[f"{key}/page-{pages[0]}"]), query["_id"]
    splits = [query["metadata"]["split"] for query in queries]
    assert set(splits) == {"tune", "heldout"}  # both parts non-empty
    assert splits == [page_qa.split_of(MV_SET.name, qid) for qid in query_ids]
    data = load_beir(MV_SET)  # and the loader the evaluation uses agrees (files only)
    assert (len(data.corpus), len(data.qrels)) == (len(corpus), len(queries))


def test_the_corpus_covers_the_ten_files_and_every_file_has_questions() -> None:
    assert len(build.FILES) == 10
    assert list(_committed()) == list(build.FILES)
    asked = [query["metadata"]["source"] for query in _rows("queries.jsonl")]
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


def test_the_build_reproduces_the_committed_files(tmp_path: Path) -> None:
    """Run the writer build.py uses on the committed page text: the same bytes come out."""
    folder = tmp_path / MV_SET.name  # the split hashes the folder's name
    folder.mkdir()
    page_qa.write_documents(folder, build.QUESTIONS, _committed())
    for name in ("corpus.jsonl", "queries.jsonl", "qrels/test.tsv"):
        assert (folder / name).read_bytes() == (MV_SET / name).read_bytes(), name


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
