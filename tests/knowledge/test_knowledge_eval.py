"""Retrieval evaluation on BEIR-format data: metrics, dataset validation, CLI and MLflow run."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from corpus_paths import FED_DATASET as DATASET
from tidyllm.errors import KnowledgeError
from tidyllm.knowledge.evaluation import METRICS, evaluate, load_beir, mrr, ndcg, recall

CORPUS = {
    "d1": ("Capital", "Banks hold capital buffers to absorb losses in a severe recession."),
    "d2": ("Liquidity", "The liquidity coverage ratio requires enough high-quality liquid assets."),
    "d3": ("Validation", "Independent reviewers challenge each model's conceptual soundness."),
    "d4": ("Inventory", "A model inventory records inputs, outputs and the last update date."),
    "d5": ("Weather", "Sunny skies and a light breeze are expected tomorrow."),
}
QUERIES = {
    "q1": "what absorbs bank losses in a recession",
    "q2": "who challenges model soundness",
    "q3": "what does a model inventory record",
}
QRELS = [("q1", "d1", 1), ("q2", "d3", 2), ("q3", "d4", 1)]


def _write(root: Path, corpus=CORPUS, queries=QUERIES, qrels=QRELS) -> Path:
    (root / "qrels").mkdir(parents=True, exist_ok=True)
    (root / "corpus.jsonl").write_text(
        "".join(
            json.dumps({"_id": k, "title": t, "text": x}) + "\n" for k, (t, x) in corpus.items()
        )
    )
    (root / "queries.jsonl").write_text(
        "".join(json.dumps({"_id": k, "text": v}) + "\n" for k, v in queries.items())
    )
    (root / "qrels" / "test.tsv").write_text(
        "query-id\tcorpus-id\tscore\n" + "".join(f"{q}\t{d}\t{s}\n" for q, d, s in qrels)
    )
    return root


def test_metrics_match_hand_computed_values() -> None:
    relevant = {"a": 2, "b": 1}
    assert ndcg(["a", "b", "c"], relevant, 10) == pytest.approx(1.0)
    expected = (1 / math.log2(3) + 2 / math.log2(4)) / (2 + 1 / math.log2(3))
    assert ndcg(["x", "b", "a"], relevant, 10) == pytest.approx(expected)
    assert recall(["x", "b"], relevant, 10) == 0.5
    assert recall(["x"] * 10 + ["a"], relevant, 10) == 0.0
    assert mrr(["x", "y", "b"], relevant, 10) == pytest.approx(1 / 3)
    assert ndcg([], relevant, 10) == 0.0 and mrr([], relevant, 10) == 0.0


def test_evaluate_reports_every_mode(sm, tmp_path: Path) -> None:
    report = evaluate(sm, _write(tmp_path / "tiny"), log_run=False)
    assert (report.queries, report.documents) == (3, 5)
    assert set(report.results) == {"hybrid", "dense", "text"}
    for values in report.results.values():
        assert set(values) == set(METRICS)  # no answer phrases here: no answer metrics
        assert all(0.0 <= v <= 1.0 for v in values.values())
    assert report.results["hybrid"]["recall@10"] == 1.0
    assert report.results["dense"]["mrr@10"] == 1.0
    with sm.connection() as conn:  # the scratch domain is gone
        assert conn.execute("SELECT count(*) FROM domains").fetchone()[0] == 0


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda r: (r / "corpus.jsonl").unlink(), "no corpus.jsonl"),
        (lambda r: (r / "qrels" / "test.tsv").unlink(), "no qrels/test.tsv"),
        (lambda r: (r / "queries.jsonl").write_text("{not json\n"), "not JSON"),
        (lambda r: (r / "queries.jsonl").write_text('{"text": "no id"}\n'), "no string _id"),
        (lambda r: (r / "qrels" / "test.tsv").write_text("q1\tmissing\t1\n"), "unknown"),
        (lambda r: (r / "qrels" / "test.tsv").write_text("q1\td1\thigh\n"), "not an integer"),
        (lambda r: (r / "qrels" / "test.tsv").write_text("q1 d1 1\n"), "3 tab-separated"),
        (
            lambda r: (r / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\n"),
            "no judgements",
        ),
    ],
)
def test_broken_datasets_are_clear_errors(tmp_path: Path, mutate, message) -> None:
    root = _write(tmp_path / "bad")
    mutate(root)
    with pytest.raises(KnowledgeError, match=message):
        load_beir(root)
    with pytest.raises(KnowledgeError, match="does not exist"):
        load_beir(tmp_path / "nowhere")


def test_the_fed_dataset_loads() -> None:
    """Its answers' pages and the other file checks: test_page_qa_datasets.py."""
    data = load_beir(DATASET)
    assert len(data.queries) >= 30 and len(data.corpus) >= 30
    assert all(data.qrels[q] for q in data.qrels)


def test_eval_cli_prints_a_table_and_logs_an_mlflow_run(
    cli, cli_env, tmp_path, monkeypatch, mlflow_server
) -> None:
    monkeypatch.setenv("TIDYLLM_MLFLOW__TRACKING_URI", mlflow_server.url)
    monkeypatch.setenv("TIDYLLM_MLFLOW__EXPERIMENT", "knowledge-eval")
    result = cli("eval", "--dataset", str(_write(tmp_path / "tiny")))
    assert result.exit_code == 0, result.output
    for word in ("hybrid", "dense", "text", "nDCG@10", "hit@5", "3 queries", "MLflow run"):
        assert word in result.output

    from mlflow.tracking import MlflowClient

    client = MlflowClient(mlflow_server.url)
    experiment = client.get_experiment_by_name("knowledge-eval")
    (run,) = client.search_runs([experiment.experiment_id])
    assert run.data.params["dataset"] == "tiny"
    assert 0.0 <= run.data.metrics["hybrid.ndcg_at_10"] <= 1.0
    assert {f"{m}.recall_at_100" for m in ("hybrid", "dense", "text")} <= set(run.data.metrics)


PAGES = {
    1: "Annual report of the Example Bank. Contents and overview of the year.",
    2: "The bank employed 4,210 people at the end of 2024, most of them in lending.",
    3: "Net income rose to $812 million in 2024 because of lower credit losses.",
}


def _write_paged(root: Path) -> Path:
    """A two-question set over one three-page file, with answer phrases and splits."""
    (root / "qrels").mkdir(parents=True)
    meta = {"source": "example-bank-2024.pdf", "title": "Example Bank Annual Report 2024"}
    (root / "corpus.jsonl").write_text(
        "".join(
            json.dumps({"_id": f"p{n}", "text": t, "metadata": {**meta, "page": n}}) + "\n"
            for n, t in PAGES.items()
        )
    )
    questions = [
        ("staff", "How many employees did the bank have?", "4,210 people", "tune", "p2"),
        ("profit", "What was the net income in 2024?", "$812 million", "heldout", "p3"),
    ]
    (root / "queries.jsonl").write_text(
        "".join(
            json.dumps({"_id": q, "text": t, "metadata": {"answer": a, "split": s}}) + "\n"
            for q, t, a, s, _ in questions
        )
    )
    (root / "qrels" / "test.tsv").write_text(
        "query-id\tcorpus-id\tscore\n" + "".join(f"{q}\t{p}\t2\n" for q, *_, p in questions)
    )
    return root


def test_pages_of_one_source_are_one_document_and_answers_are_scored(sm, tmp_path) -> None:
    report = evaluate(sm, _write_paged(tmp_path / "paged"), log_run=False)
    assert (report.queries, report.documents) == (2, 1)
    assert report.split_sizes == {"all": 2, "tune": 1, "heldout": 1}
    for split in ("all", "tune", "heldout"):
        for mode in ("hybrid", "dense", "text"):
            values = report.by_split[split][mode]
            assert set(values) == set(METRICS) | {"cites_page", "has_phrase"}
    hybrid = report.results["hybrid"]
    assert hybrid["hit@1"] == 1.0  # each answer page is found first
    assert hybrid["cites_page"] == 1.0 and hybrid["has_phrase"] == 1.0
    assert report.by_split["heldout"]["hybrid"]["hit@1"] == 1.0


def test_eval_without_a_dataset_runs_every_set_under_datasets(cli, cli_env, tmp_path, monkeypatch):
    _write(tmp_path / "datasets" / "tiny")
    _write_paged(tmp_path / "datasets" / "paged")
    monkeypatch.chdir(tmp_path)
    result = cli("eval", "--no-answers", "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert {(r["dataset"], r["split"], r["queries"]) for r in rows} == {
        ("tiny", "all", 3),
        ("paged", "all", 2),
        ("paged", "tune", 1),
        ("paged", "heldout", 1),
    }
    assert all(0.0 <= r["hit@5"] <= 1.0 and "cites_page" not in r for r in rows)
    monkeypatch.chdir(tmp_path / "datasets")  # no datasets/ here: a clear error and a hint
    result = cli("eval")
    assert result.exit_code != 0
    assert "no datasets under 'datasets'" in result.output and "--dataset DIR" in result.output
