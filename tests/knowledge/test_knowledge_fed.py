"""End to end on the Federal Reserve OIG report: ingest once, then ask, chat and trace.

The report is extracted and indexed once for the module (the ``fed`` fixture):
every chunk is embedded with the real all-MiniLM-L6-v2 model.
"""

from __future__ import annotations

import pytest

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


def test_ask_cli_logs_a_trace_to_mlflow(
    fed, module_database, data_dir, cli, monkeypatch, mlflow_server
) -> None:
    monkeypatch.setenv("TIDYLLM_DATA_DIR", str(data_dir))
    monkeypatch.setenv("TIDYLLM_DATABASE__URL", module_database)
    monkeypatch.setenv("TIDYLLM_MLFLOW__TRACKING_URI", mlflow_server.url)
    monkeypatch.setenv("TIDYLLM_MLFLOW__EXPERIMENT", "knowledge-traces")
    result = cli(
        "ask", "fed", "Which Reserve Bank was selected to lead the model validation function?"
    )
    assert result.exit_code == 0, result.output
    assert "Minneapolis" in result.output and "page 16" in result.output

    from mlflow.tracking import MlflowClient

    client = MlflowClient(mlflow_server.url)
    experiment = client.get_experiment_by_name("knowledge-traces")
    traces = client.search_traces(locations=[experiment.experiment_id])
    assert len(traces) == 1
    spans = {span.name: span for span in traces[0].data.spans}
    assert {"ask", "retrieve", "generate", "check_citations"} <= set(spans)
    assert spans["retrieve"].outputs["hits"][0]["page"] >= 1
    assert spans["check_citations"].outputs["valid"] >= 1


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
