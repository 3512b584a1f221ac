"""End to end on the Federal Reserve OIG report: ingest once, then ask, chat and trace.

The report is extracted and indexed once for the module (the ``fed`` fixture):
every chunk is embedded with the real all-MiniLM-L6-v2 model.
"""

from __future__ import annotations

import pytest

from services import CLI_WITH_MLFLOW_MARKER
from tidyllm.answering import NOT_FOUND, ask
from tidyllm.answering.chat import chat_history, chat_turn, start_chat
from tidyllm.errors import KnowledgeError


def test_the_report_is_indexed_page_by_page(fed) -> None:
    sm, indexed = fed
    assert indexed.status == "added" and indexed.pages == 33 and indexed.chunks > 60
    with sm.connection() as conn:
        pages = {r[0] for r in conn.execute("SELECT DISTINCT page FROM chunks")}
    assert {3, 13, 16, 27} <= pages and max(pages) <= 33


def test_ask_answers_with_a_citation_of_the_page_that_holds_the_answer(fed) -> None:
    sm, _ = fed
    answer = ask(
        sm, "fed", "How many reviewers did the MVU recruit for the 2014-2015 cycle?", trace=False
    )
    assert answer.found
    assert 13 in {c.page for c in answer.citations}
    assert "85" in answer.text
    assert answer.dropped == ()
    for citation in answer.citations:  # every shown citation was verified against its source
        assert citation.valid and citation.quote
        source = answer.sources[citation.number - 1]
        assert (
            " ".join(citation.quote.split()).casefold()
            in " ".join(source.hit.text.split()).casefold()
        )


@pytest.mark.parametrize(
    ("question", "page", "phrase"),
    [
        (
            "How much additional capital were the SCAP bank holding companies required to add?",
            9,
            "$185 billion",
        ),
        (
            "How many reviewers documented limitations in their model validation reports?",
            27,
            "only 3 reviewers",
        ),
        ("What model development cycle has the MOG instituted?", 22, "two-year"),
    ],
)
def test_more_questions_cite_their_pages(fed, question, page, phrase) -> None:
    sm, _ = fed
    answer = ask(sm, "fed", question, trace=False)
    assert page in {c.page for c in answer.citations}
    assert phrase in answer.text


def test_an_unrelated_question_is_not_found(fed) -> None:
    sm, _ = fed
    answer = ask(sm, "fed", "What is the boiling point of mercury in kelvin?", trace=False)
    assert not answer.found
    assert answer.text == NOT_FOUND and answer.citations == ()


def test_filters_apply_to_answers(fed) -> None:
    sm, _ = fed
    answer = ask(
        sm, "fed", "How many reviewers did the MVU recruit?", filters={"kind": "memo"}, trace=False
    )
    assert not answer.found and answer.sources == ()


def test_chat_rewrites_a_follow_up_with_the_history(fed) -> None:
    sm, _ = fed
    session = start_chat(sm, "fed")
    first = chat_turn(
        sm, session, "What did the gap analysis find about the MVU staffing approach?"
    )
    assert first.found and first.retrieval_query == first.question
    follow = chat_turn(sm, session, "And when will it change?")
    assert follow.retrieval_query.startswith(first.question)
    assert follow.retrieval_query.endswith("And when will it change?")
    history = chat_history(sm, session)
    assert [m.role for m in history] == ["user", "assistant", "user", "assistant"]
    assert history[2].retrieval_query == follow.retrieval_query
    assert history[3].content == follow.text
    assert all(c["page"] for c in history[3].citations)
    standalone = chat_turn(sm, session, "Which Reserve Bank was selected to lead model validation?")
    assert standalone.retrieval_query == standalone.question


def test_chat_sessions_refuse_bad_ids(fed) -> None:
    sm, _ = fed
    with pytest.raises(KnowledgeError, match="not a chat session id"):
        chat_turn(sm, "'; DROP TABLE chat_sessions; --", "hello there")
    with pytest.raises(KnowledgeError, match="does not exist"):
        chat_turn(sm, "00000000-0000-0000-0000-000000000000", "hello there")


def test_ask_returns_the_key_of_its_buffered_trace(fed) -> None:
    sm, _ = fed
    sm.outbox().background = False  # keep it in the buffer to look at it
    answer = ask(sm, "fed", "How many reviewers did the MVU recruit for the 2014-2015 cycle?")
    assert answer.found and answer.trace_key in sm.outbox().traces.pending_keys()
    doc = sm.outbox().traces.read_trace(answer.trace_key)
    assert [s["name"] for s in doc["spans"]] == ["retrieve", "generate", "check_citations"]
    assert doc["outputs"]["answer"] == answer.text
    assert doc["start_ns"] <= doc["spans"][0]["start_ns"] <= doc["spans"][-1]["end_ns"]
    assert doc["end_ns"] >= doc["spans"][-1]["end_ns"]
    assert ask(sm, "fed", "How many reviewers?", trace=False).trace_key is None


def test_ask_cli_buffers_its_trace_and_a_flush_lands_it_in_mlflow(
    fed, module_database, data_dir, cli, monkeypatch, mlflow_server, tmp_path
) -> None:
    import json
    import os
    import subprocess
    import sys

    monkeypatch.setenv("TIDYLLM_DATA_DIR", str(data_dir))
    monkeypatch.setenv("TIDYLLM_DATABASE__URL", module_database)
    monkeypatch.setenv("TIDYLLM_MLFLOW__TRACKING_URI", mlflow_server.url)
    monkeypatch.setenv("TIDYLLM_MLFLOW__EXPERIMENT", "knowledge-traces")
    monkeypatch.setenv("TIDYLLM_MLFLOW__BACKGROUND_FLUSH", "false")  # the test flushes itself
    marker = tmp_path / "mlflow-modules.json"
    question = "Which Reserve Bank was selected to lead the model validation function?"
    result = subprocess.run(
        [sys.executable, "-c", CLI_WITH_MLFLOW_MARKER, str(marker), "ask", "fed", question],
        capture_output=True,
        text=True,
        timeout=600,
        env=dict(os.environ),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Minneapolis" in result.stdout and "page 16" in result.stdout
    assert json.loads(marker.read_text()) == []  # the answer's path never imports MLflow

    from mlflow.tracking import MlflowClient

    client = MlflowClient(mlflow_server.url)
    pending = list((data_dir / "tracking-buffer" / "traces" / "pending").iterdir())
    assert len(pending) == 1  # the trace waits in the outbox, not in MLflow
    key = pending[0].name
    assert client.get_experiment_by_name("knowledge-traces") is None

    flushed = cli("tracking", "flush")
    assert flushed.exit_code == 0, flushed.output
    assert "sent 0 run(s) and 1 trace(s)" in flushed.output
    experiment = client.get_experiment_by_name("knowledge-traces")
    traces = client.search_traces(locations=[experiment.experiment_id])
    assert len(traces) == 1
    assert traces[0].info.tags["tidyllm.trace_key"] == key
    spans = {span.name: span for span in traces[0].data.spans}
    assert {"ask", "retrieve", "generate", "check_citations"} <= set(spans)
    assert spans["ask"].inputs["question"] == question
    assert spans["retrieve"].outputs["hits"][0]["page"] >= 1
    assert spans["check_citations"].outputs["valid"] >= 1
    assert spans["generate"].start_time_ns >= spans["retrieve"].end_time_ns
    assert not any((data_dir / "tracking-buffer" / "traces" / "pending").iterdir())
    again = cli("tracking", "flush")  # nothing left: nothing sent twice
    assert "sent 0 run(s) and 0 trace(s)" in again.output
    assert len(client.search_traces(locations=[experiment.experiment_id])) == 1


def test_chat_cli_keeps_the_conversation(
    fed, module_database, data_dir, cli, monkeypatch, mlflow_server
) -> None:
    monkeypatch.setenv("TIDYLLM_DATA_DIR", str(data_dir))
    monkeypatch.setenv("TIDYLLM_DATABASE__URL", module_database)
    monkeypatch.setenv("TIDYLLM_MLFLOW__TRACKING_URI", mlflow_server.url)
    result = cli(
        "chat",
        "fed",
        input="How many reviewers did the MVU recruit for the 2014-2015 cycle?\n"
        "And what did they do besides validation?\n\n",
    )
    assert result.exit_code == 0, result.output
    assert "session " in result.output and "page 13" in result.output
    sm, _ = fed
    with sm.connection() as conn:
        (count,) = conn.execute(
            "SELECT count(*) FROM chat_messages m JOIN chat_sessions s ON s.id = m.session_id "
            "JOIN domains d ON d.id = s.domain_id WHERE d.name = 'fed' AND m.retrieval_query "
            "LIKE 'How many reviewers%%And what did they do%%'"
        ).fetchone()
    assert count == 1
