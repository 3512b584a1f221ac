"""`tidyllm eval` with metadata filters: the corpus rows describe the scratch documents
(year, tags, collections...), and every retrieval keeps to the documents the filter matches."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tidyllm.knowledge.catalog import document_filter
from tidyllm.knowledge.collections import CollectionNotFound
from tidyllm.knowledge.evaluation import evaluate

CORPUS = [
    (
        "d1",
        "Banks hold capital buffers to absorb losses in a severe recession.",
        {"year": 2015, "tags": ["capital"], "collections": ["core"]},
    ),
    (
        "d3",
        "Independent reviewers challenge each model's conceptual soundness.",
        {"year": 2016, "collections": ["core", "review"]},
    ),
    ("d4", "A model inventory records inputs, outputs and the last update date.", {"year": 2020}),
    ("d5", "Sunny skies and a light breeze are expected tomorrow.", {}),
]
QUERIES = {
    "q1": "what absorbs bank losses in a recession",
    "q2": "who challenges model soundness",
    "q3": "what does a model inventory record",
}
QRELS = [("q1", "d1", 1), ("q2", "d3", 1), ("q3", "d4", 1)]


def _write(root: Path) -> Path:
    (root / "qrels").mkdir(parents=True)
    (root / "corpus.jsonl").write_text(
        "".join(json.dumps({"_id": k, "text": t, "metadata": m}) + "\n" for k, t, m in CORPUS)
    )
    (root / "queries.jsonl").write_text(
        "".join(json.dumps({"_id": k, "text": v}) + "\n" for k, v in QUERIES.items())
    )
    (root / "qrels" / "test.tsv").write_text(
        "query-id\tcorpus-id\tscore\n" + "".join(f"{q}\t{d}\t{s}\n" for q, d, s in QRELS)
    )
    return root


@pytest.mark.parametrize(
    ("where", "recall"),
    [
        (None, 1.0),
        (document_filter(collection="core"), 2 / 3),  # q3's page is outside it
        (document_filter(collection="review"), 1 / 3),
        (document_filter(years="2016..2024"), 2 / 3),
        (document_filter(tags=["capital"], years="2015"), 1 / 3),
    ],
)
def test_eval_keeps_to_the_filtered_documents(sm, tmp_path, where, recall) -> None:
    dataset = _write(tmp_path / "tiny")
    report = evaluate(sm, dataset, modes=["dense"], answers=False, log_run=False, where=where)
    assert report.results["dense"]["recall@10"] == pytest.approx(recall)


def test_eval_with_an_unknown_collection_says_so(sm, tmp_path, cli, cli_env) -> None:
    dataset = _write(tmp_path / "tiny")
    with pytest.raises(CollectionNotFound, match="its collections: core, review"):
        evaluate(sm, dataset, answers=False, log_run=False, where=document_filter(collection="x"))
    result = cli(
        "eval", "--dataset", str(dataset), "--no-answers", "--json", "--collection", "review"
    )
    assert result.exit_code == 0, result.output
    rows = {r["mode"]: r for r in json.loads(result.stdout) if r["split"] == "all"}
    assert rows["dense"]["recall@10"] == pytest.approx(1 / 3)
