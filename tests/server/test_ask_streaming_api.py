"""Token streaming over HTTP: ``?stream=true`` on ask and on a chat message, with a remote
LLM, is progress -> delta... -> answer -> citations -> done, against a real ``tidyllm serve``.

TEST DOUBLE (named as such): ``RecordedAnswerEndpoint`` (tests/openai_doubles.py), a real
HTTP server on loopback speaking the OpenAI wire format with a *recorded* answer streamed
word by word (no model can run here); the server under test is configured with it as
``llm.provider=openai``. Everything else is real.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from server_helpers import (
    Server,
    error_of,
    events_of,
    index_pages,
    serving,
    session_manager,
)

from openai_doubles import RecordedAnswerEndpoint
from tidyllm.access import add_grant, add_user, create_token

PASSWORD = "correct horse battery staple"
PAGES = (
    "The Federal Reserve selected the Federal Reserve Bank of Boston to lead model validation.",
    "Our fieldwork ended in March 2015. We interviewed staff at three Reserve Banks.",
)
QUESTION = "When did the fieldwork end?"
QUOTE = "Our fieldwork ended in March 2015"
RECORDED = f'In March 2015. "{QUOTE}" [{{n}}]'


@pytest.fixture(scope="module")
def llm() -> Iterator[RecordedAnswerEndpoint]:
    with RecordedAnswerEndpoint(RECORDED, QUOTE) as endpoint:
        yield endpoint


@pytest.fixture(scope="module")
def server(tmp_path_factory, module_database: str, llm) -> Iterator[Server]:
    """``tidyllm serve --no-worker`` answering with the recorded LLM."""
    tmp = tmp_path_factory.mktemp("serve-stream")
    env = llm.server_env("k-streaming-test")
    with serving(tmp, module_database, "--no-worker", env=env) as running:
        yield running


@pytest.fixture(scope="module")
def tokens(server: Server) -> dict[str, str]:
    """vic and nod, viewers; only vic is granted ``fed``."""
    with session_manager(server) as sm:
        out = {}
        for name in ("vic", "nod"):
            add_user(sm, name, "viewer", PASSWORD)
            out[name] = create_token(sm, name, "test").secret
        index_pages(sm, "fed", PAGES)
        add_grant(sm, "fed", user="vic")
        add_grant(sm, "fed", user="nod")
    return out


@pytest.fixture(autouse=True)
def healthy(llm: RecordedAnswerEndpoint) -> None:
    llm.fault = None


def streamed(http: httpx.Client, path: str, body: dict) -> list[tuple[str, dict]]:
    with http.stream("POST", path, json=body, params={"stream": "true"}) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        return events_of(response)


def shape(events: list[tuple[str, dict]]) -> list[str]:
    """The event names with each run of ``delta`` as one ``delta...``."""
    out: list[str] = []
    for name, _ in events:
        label = "delta..." if name == "delta" else name
        if not out or out[-1] != label or label != "delta...":
            out.append(label)
    return out


def test_ask_streams_progress_deltas_then_the_checked_answer(server, tokens, llm) -> None:
    with server.client(tokens["vic"]) as http:
        plain = http.post("/api/v1/domains/fed/ask", json={"question": QUESTION}).json()
        events = streamed(http, "/api/v1/domains/fed/ask", {"question": QUESTION})
    assert shape(events) == ["progress", "progress", "delta...", "answer", "citations", "done"]
    assert [d["stage"] for n, d in events if n == "progress"] == ["retrieving", "answering"]
    deltas = [d["text"] for n, d in events if n == "delta"]
    assert len(deltas) > 3
    assert "".join(deltas) == llm.text_for(llm.requests[-1]["body"])
    by_name = dict(events)
    assert by_name["answer"]["text"] == plain["text"] and plain["found"]
    assert by_name["citations"]["citations"] == plain["citations"]
    assert [c["page"] for c in plain["citations"]] == [2]
    assert by_name["done"] == {"found": True, "provider": "openai", "model": "recorded"}


def test_a_chat_message_streams_and_is_stored_as_checked(server, tokens, llm) -> None:
    with server.client(tokens["vic"]) as http:
        chat = http.post("/api/v1/domains/fed/chats", json={}).json()["id"]
        path = f"/api/v1/chats/{chat}/messages"
        events = streamed(http, path, {"question": QUESTION})
        stored = http.get(path).json()
    assert shape(events) == ["progress", "progress", "delta...", "answer", "citations", "done"]
    assert "".join(d["text"] for n, d in events if n == "delta") == llm.text_for(
        llm.requests[-1]["body"]
    )
    by_name = dict(events)
    assert by_name["done"]["session_id"] == chat
    assert by_name["done"]["retrieval_query"] == QUESTION
    assert [m["role"] for m in stored] == ["user", "assistant"]
    assert stored[1]["content"] == by_name["answer"]["text"]
    assert [c["page"] for c in by_name["citations"]["citations"]] == [2]


def test_a_stream_that_breaks_off_ends_with_an_error_event(server, tokens, llm) -> None:
    llm.fault = "cut"
    with server.client(tokens["vic"]) as http:
        events = streamed(http, "/api/v1/domains/fed/ask", {"question": QUESTION})
        llm.fault = None
        after = http.post("/api/v1/domains/fed/ask", json={"question": QUESTION})
    assert shape(events) == ["progress", "progress", "delta...", "error"]
    error = events[-1][1]["error"]
    assert error["code"] == "service_unavailable" and "stream broke" in error["message"]
    assert "k-streaming-test" not in json.dumps(events)
    assert after.status_code == 200 and after.json()["found"]


def test_another_users_chat_is_a_404_before_any_stream(server, tokens) -> None:
    with server.client(tokens["vic"]) as http:
        chat = http.post("/api/v1/domains/fed/chats", json={}).json()["id"]
    with server.client(tokens["nod"]) as http:
        response = http.post(
            f"/api/v1/chats/{chat}/messages", json={"question": QUESTION, "stream": True}
        )
    assert response.status_code == 404
    assert error_of(response)["code"] == "chat_session_not_found"
