"""``stream=true`` on ask over a real ``tidyllm serve``: server-sent events, in order."""

from __future__ import annotations

import json

import httpx
import pytest
from server_helpers import Server, error_of, events_of, index_pages

from tidyllm.access import add_grant, add_user, create_token
from tidyllm.knowledge import create_domain

PASSWORD = "correct horse battery staple"
PAGES = (
    "The Federal Reserve selected the Federal Reserve Bank of Boston to lead model validation.",
    "Our fieldwork ended in March 2015. We interviewed staff at three Reserve Banks.",
)
QUESTION = "When did the fieldwork end?"


@pytest.fixture(scope="module")
def tokens(server_sm) -> dict[str, str]:
    """Viewer vic is granted 'granted' (content) and 'empty' (none); 'secret' is not granted."""
    out = {}
    for name in ("vic", "nod"):
        add_user(server_sm, name, "viewer", PASSWORD)
        out[name] = create_token(server_sm, name, "test").secret
    create_domain(server_sm, "empty")
    for name in ("granted", "secret"):
        index_pages(server_sm, name, PAGES)
    add_grant(server_sm, "granted", user="vic")
    add_grant(server_sm, "empty", user="vic")
    return out


def stream(http: httpx.Client, domain: str, body: dict, **params: str) -> tuple:
    with http.stream("POST", f"/api/v1/domains/{domain}/ask", json=body, params=params) as r:
        if r.headers["content-type"].startswith("text/event-stream"):
            return r, events_of(r)
        r.read()
        return r, None


@pytest.mark.parametrize("how", ["query", "body"])
def test_the_stream_has_progress_answer_citations_done_matching_the_json_answer(
    server: Server, tokens, how
):
    with server.client(tokens["vic"]) as http:
        plain = http.post("/api/v1/domains/granted/ask", json={"question": QUESTION})
        assert plain.status_code == 200 and plain.headers["content-type"] == "application/json"
        if how == "query":
            response, events = stream(http, "granted", {"question": QUESTION}, stream="true")
        else:
            response, events = stream(http, "granted", {"question": QUESTION, "stream": True})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["cache-control"] == "no-store"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    names = [name for name, _ in events]
    answers = names.count("answer")
    assert answers >= 1
    assert names == ["progress", "progress", *["answer"] * answers, "citations", "done"]
    assert [data["stage"] for name, data in events if name == "progress"] == [
        "retrieving",
        "answering",
    ]
    expected = plain.json()
    text = "".join(data["text"] for name, data in events if name == "answer")
    citations, done = events[-2][1], events[-1][1]
    assert text == expected["text"] and "March 2015" in text
    assert citations == {"citations": expected["citations"], "dropped": expected["dropped"]}
    assert citations["citations"][0]["page"] == 2
    assert done == {
        "found": True,
        "provider": expected["provider"],
        "model": expected["model"],
    }


def test_stream_false_keeps_the_json_answer(server: Server, tokens):
    with server.client(tokens["vic"]) as http:
        for params, body in (({"stream": "false"}, {}), ({}, {"stream": False})):
            response = http.post(
                "/api/v1/domains/granted/ask", params=params, json={"question": QUESTION, **body}
            )
            assert response.status_code == 200, response.text
            assert response.json()["found"] is True


def test_an_unrelated_question_streams_not_found_with_no_citations(server: Server, tokens):
    with server.client(tokens["vic"]) as http:
        _, events = stream(
            http, "granted", {"question": "What is the boiling point of mercury?"}, stream="1"
        )
    assert [n for n, _ in events] == ["progress", "progress", "answer", "citations", "done"]
    assert events[2][1] == {"text": "Not found in the documents."}
    assert events[3][1] == {"citations": [], "dropped": 0}
    assert events[4][1]["found"] is False


def test_a_domain_not_granted_is_a_plain_json_404_not_a_stream(server: Server, tokens):
    with server.client(tokens["nod"]) as http:
        hidden, none = stream(http, "secret", {"question": QUESTION}, stream="true")
        missing, _ = stream(http, "secreu", {"question": QUESTION}, stream="true")
    assert none is None
    assert hidden.status_code == missing.status_code == 404
    assert hidden.headers["content-type"] == "application/json"
    a, b = error_of(hidden), error_of(missing)
    assert a == {k: v.replace("secreu", "secret") for k, v in b.items()}
    assert a["code"] == "domain_not_found"


def test_an_empty_domain_is_a_json_409_before_the_stream(server: Server, tokens):
    with server.client(tokens["vic"]) as http:
        response, events = stream(http, "empty", {"question": QUESTION}, stream="true")
    assert events is None and response.status_code == 409
    assert error_of(response)["code"] == "domain_empty"


def test_a_failure_after_the_stream_started_is_an_error_event(server: Server, tokens):
    body = {"question": QUESTION, "filters": {"kind": "a\x00b"}}  # refused by the search
    with server.client(tokens["vic"]) as http:
        response, events = stream(http, "granted", body, stream="true")
        plain = http.post("/api/v1/domains/granted/ask", json=body)
    assert response.status_code == 200
    assert [n for n, _ in events] == ["progress", "error"]
    assert events[-1][1] == plain.json()  # the same body the JSON request gets
    assert plain.status_code == 400 and error_of(plain)["code"] == "search_error"


@pytest.mark.parametrize(
    ("params", "body"),
    [
        ({"stream": "maybe"}, {"question": QUESTION}),
        ({}, {"question": QUESTION, "stream": "sometimes"}),
        ({}, {"question": QUESTION, "stream": [True]}),
        ({"stream": "true"}, {}),
        ({"stream": "true"}, {"question": ""}),
        ({"stream": "true"}, {"question": QUESTION, "k": 0}),
    ],
)
def test_hostile_stream_requests_are_a_422(server: Server, tokens, params, body):
    with server.client(tokens["vic"]) as http:
        response, events = stream(http, "granted", body, **params)
    assert events is None and response.status_code == 422
    assert error_of(response)["code"] == "invalid_request"


def test_a_cookie_stream_request_needs_the_csrf_token(server: Server, tokens):
    with server.client() as http:
        login = http.post("/api/v1/login", json={"name": "vic", "password": PASSWORD})
        assert login.status_code == 200, login.text
        refused, events = stream(http, "granted", {"question": QUESTION}, stream="true")
        assert events is None and refused.status_code == 403
        assert error_of(refused)["code"] == "csrf_rejected"
        http.headers["X-CSRF-Token"] = login.json()["user"]["csrf_token"]
        allowed, events = stream(http, "granted", {"question": QUESTION}, stream="true")
    assert allowed.status_code == 200 and [n for n, _ in events][-1] == "done"


def test_a_client_that_leaves_mid_stream_harms_nothing(server: Server, tokens):
    with server.client(tokens["vic"]) as http:
        for _ in range(3):
            with http.stream(
                "POST", "/api/v1/domains/granted/ask?stream=true", json={"question": QUESTION}
            ) as r:
                assert next(r.iter_lines()) == "event: progress"  # then hang up
        after = http.post("/api/v1/domains/granted/ask", json={"question": QUESTION})
    assert after.status_code == 200 and after.json()["found"] is True
    log = server.log.read_text()
    assert "Traceback" not in log and "crashed" not in log


def test_keep_alive_comments_while_the_work_is_slow_and_errors_keep_their_shape(monkeypatch):
    """The event source alone (no server): comments while nothing happens, then the error
    event in the one error shape, a library error with its code, anything else 'internal'."""
    import asyncio
    import threading

    from tidyllm.errors import DomainEmpty
    from tidyllm.server import sse

    monkeypatch.setattr(sse, "KEEPALIVE_SECONDS", 0.01)

    def run(failure: Exception) -> list[bytes]:
        release = threading.Event()

        def work(emit) -> None:
            emit("progress", {"stage": "retrieving"})
            release.wait(30)
            raise failure

        async def collect() -> list[bytes]:
            chunks = []
            async for chunk in sse._events(work, "test"):
                chunks.append(chunk)
                if chunk.startswith(b":"):
                    release.set()  # a comment came while the work waited: let it fail now
            return chunks

        return asyncio.run(collect())

    chunks = run(DomainEmpty("nothing here"))
    events = [c for c in chunks if not c.startswith(b":")]  # a keep-alive may come first
    assert events[0] == b'event: progress\ndata: {"stage": "retrieving"}\n\n'
    assert b": keep-alive\n\n" in chunks
    error = chunks[-1].decode()
    assert error.startswith("event: error\ndata: ")
    assert json.loads(error.split("data: ", 1)[1]) == {
        "error": {"code": "domain_empty", "message": "nothing here", "hint": ""}
    }
    crashed = json.loads(run(RuntimeError("secret detail"))[-1].decode().split("data: ", 1)[1])
    assert crashed == {
        "error": {"code": "internal", "message": "internal error; see the server log", "hint": ""}
    }
