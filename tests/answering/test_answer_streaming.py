"""Token streaming of answers: ``ask(..., on_text=)`` and ``chat_turn(..., on_text=)``.

TEST DOUBLES (named as such): ``RecordedAnswerEndpoint`` (tests/openai_doubles.py) is a
real HTTP server on loopback speaking the OpenAI chat-completions wire format, streamed as
server-sent events when asked, with a *recorded* answer instead of a model (none can run
here); Bedrock's ConverseStream is answered through botocore's ``before-send`` hook with a
real ``application/vnd.amazon.eventstream`` body (CRC-checked binary messages) parsed by
botocore's own event-stream reader (no AWS account here). Retrieval, the prompt, the
stream parsing and the citation check are real.
"""

from __future__ import annotations

import json
import struct
import zlib
from dataclasses import replace

import pytest

from openai_doubles import RecordedAnswerEndpoint, source_number, words_of
from tidyllm.answering import ask
from tidyllm.answering.chat import chat_history, chat_turn, start_chat
from tidyllm.errors import GenerationError, ServiceUnavailable

QUESTION = "How many reviewers did the unit recruit for the cycle?"
QUOTE = "approximately 85 such reviewers took part in validation work"
RECORDED = f'About 85 reviewers <b>took part</b>. "{QUOTE}" [{{n}}]'
CANARY = "sk-canary-stream-5d1e0b7a9c"


@pytest.fixture
def endpoint():
    with RecordedAnswerEndpoint(RECORDED, QUOTE) as server:
        yield server


@pytest.fixture
def openai_sm(data_dir, database_url, endpoint, index_pages):
    from tidyllm.session import UnifiedSessionManager

    with UnifiedSessionManager(
        data_dir=data_dir,
        database={"url": database_url},
        llm={
            "provider": "openai",
            "endpoint": endpoint.url,
            "model": "recorded",
            "api_key": CANARY,
        },
    ) as manager:
        index_pages(manager)
        yield manager


def same(answer):
    """An answer without what differs between two runs of one question (timings)."""
    return replace(answer, timings={}, trace_key=None)


def test_on_text_gets_the_draft_word_by_word_and_the_answer_is_the_unstreamed_one(
    openai_sm, endpoint
) -> None:
    plain = ask(openai_sm, "mv", QUESTION, trace=False)
    pieces: list[str] = []
    streamed = ask(openai_sm, "mv", QUESTION, trace=False, on_text=pieces.append)
    raw = endpoint.text_for(endpoint.requests[-1]["body"])
    assert pieces == words_of(raw) and len(pieces) > 5
    assert "".join(pieces) == raw
    assert same(streamed) == same(plain)
    assert streamed.found and [c.page for c in streamed.citations] == [3]
    assert "stream" not in endpoint.requests[0]["body"]
    assert endpoint.requests[1]["body"]["stream"] is True


def test_an_event_whose_data_spans_several_lines_is_read_whole(openai_sm, endpoint) -> None:
    endpoint.fault = "multiline"
    pieces: list[str] = []
    streamed = ask(openai_sm, "mv", QUESTION, trace=False, on_text=pieces.append)
    raw = endpoint.text_for(endpoint.requests[-1]["body"])
    assert pieces == words_of(raw) and len(pieces) > 5
    assert streamed.found and [c.page for c in streamed.citations] == [3]


@pytest.mark.parametrize(
    ("fault", "error", "says"),
    [
        ("malformed", GenerationError, "not JSON"),
        ("cut", ServiceUnavailable, "stream broke"),
        ("no_done", ServiceUnavailable, r"before \[DONE\]"),
        ("status", GenerationError, "HTTP 401"),
    ],
)
def test_a_hostile_stream_is_a_clear_error_and_the_next_question_is_answered(
    openai_sm, endpoint, fault, error, says
) -> None:
    endpoint.fault = fault
    pieces: list[str] = []
    with pytest.raises(error, match=says) as caught:
        ask(openai_sm, "mv", QUESTION, trace=False, on_text=pieces.append)
    assert CANARY not in str(caught.value) and CANARY not in repr(caught.value)
    if fault == "status":
        assert endpoint.requests[-1]["auth"] == f"Bearer {CANARY}"  # the double echoed it back
    endpoint.fault = None
    after = ask(openai_sm, "mv", QUESTION, trace=False, on_text=[].append)
    assert after.found and [c.page for c in after.citations] == [3]


def test_a_chat_turn_streams_and_stores_the_checked_answer(openai_sm, endpoint) -> None:
    chat = start_chat(openai_sm, "mv")
    first: list[str] = []
    answer = chat_turn(openai_sm, chat, QUESTION, on_text=first.append)
    assert "".join(first) == endpoint.text_for(endpoint.requests[-1]["body"])
    followup: list[str] = []
    again = chat_turn(
        openai_sm, chat, "And how many reviewers took part in validation?", on_text=followup.append
    )
    rewrite, streamed = endpoint.requests[-2:]
    assert "stream" not in rewrite["body"] and rewrite["body"]["messages"][0]["content"].startswith(
        "Rewrite"
    )
    assert streamed["body"]["stream"] is True and "".join(followup).startswith("About 85")
    stored = [m.content for m in chat_history(openai_sm, chat) if m.role == "assistant"]
    assert stored == [answer.text, again.text]


def test_an_endpoint_that_does_not_stream_gives_the_whole_text_as_one_piece(
    openai_sm, endpoint
) -> None:
    endpoint.fault = "unstreamed"
    pieces: list[str] = []
    answer = ask(openai_sm, "mv", QUESTION, trace=False, on_text=pieces.append)
    assert pieces == [endpoint.text_for(endpoint.requests[-1]["body"])]
    assert answer.found and [c.page for c in answer.citations] == [3]


def test_the_offline_answerer_does_not_stream(mv) -> None:
    sm, _ = mv
    pieces: list[str] = []
    answer = ask(sm, "mv", QUESTION, trace=False, on_text=pieces.append)
    assert answer.found and answer.provider == "extractive" and pieces == []


# ---- Bedrock ConverseStream


def event_message(kind: str, payload: dict, *, message_type: str = "event") -> bytes:
    """One AWS event-stream message: prelude, its CRC, string headers, JSON payload, CRC."""
    type_header = ":event-type" if message_type == "event" else ":exception-type"
    headers = b""
    for name, value in (
        (type_header, kind),
        (":content-type", "application/json"),
        (":message-type", message_type),
    ):
        headers += bytes([len(name)]) + name.encode() + b"\x07"
        headers += struct.pack(">H", len(value)) + value.encode()
    body = json.dumps(payload).encode()
    prelude = struct.pack(">II", 12 + len(headers) + len(body) + 4, len(headers))
    message = prelude + struct.pack(">I", zlib.crc32(prelude)) + headers + body
    return message + struct.pack(">I", zlib.crc32(message))


class EventStreamBody:
    """TEST DOUBLE: the raw body botocore reads an event stream from, message by message."""

    def __init__(self, messages: list[bytes]) -> None:
        self.messages = messages

    def stream(self, **_: object):
        yield from self.messages

    def close(self) -> None:
        pass


@pytest.fixture
def bedrock_sm(data_dir, database_url, index_pages, monkeypatch):
    from tidyllm.session import UnifiedSessionManager

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing-secret")
    with UnifiedSessionManager(
        data_dir=data_dir,
        database={"url": database_url},
        llm={"provider": "bedrock", "model": "anthropic.claude-3-haiku", "region": "us-east-1"},
    ) as manager:
        index_pages(manager)
        yield manager


def converse_stream_replies(sm, reply) -> list[dict]:
    """Answer the client's ConverseStream calls with ``reply(request body)`` (a list of
    event-stream messages); returns the request bodies sent."""
    from botocore.awsrequest import AWSResponse

    sent: list[dict] = []

    def before_send(request, **_: object):
        body = json.loads(request.body)
        sent.append({"url": request.url, **body})
        headers = {"content-type": "application/vnd.amazon.eventstream"}
        return AWSResponse(request.url, 200, headers, EventStreamBody(reply(body)))

    sm.llm().client.meta.events.register("before-send.bedrock-runtime.ConverseStream", before_send)
    return sent


def bedrock_events(text: str, *, stop: bool = True, throttle: bool = False) -> list[bytes]:
    words = words_of(text)
    out = [event_message("messageStart", {"role": "assistant"})]
    for i, word in enumerate(words):
        if throttle and i == len(words) // 2:
            out.append(
                event_message(
                    "throttlingException", {"message": "slow down"}, message_type="exception"
                )
            )
        out.append(
            event_message("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": word}})
        )
    out.append(event_message("contentBlockStop", {"contentBlockIndex": 0}))
    if stop:
        out.append(event_message("messageStop", {"stopReason": "end_turn"}))
    return out


def bedrock_text(body: dict) -> str:
    prompt = body["messages"][-1]["content"][0]["text"]
    return RECORDED.format(n=source_number(prompt, QUOTE))


def test_bedrock_converse_stream_sends_each_delta(bedrock_sm) -> None:
    sent = converse_stream_replies(bedrock_sm, lambda body: bedrock_events(bedrock_text(body)))
    pieces: list[str] = []
    answer = ask(bedrock_sm, "mv", QUESTION, trace=False, on_text=pieces.append)
    (body,) = sent
    assert body["url"].endswith("/model/anthropic.claude-3-haiku/converse-stream")
    assert body["inferenceConfig"] == {"maxTokens": 800, "temperature": 0.0}
    assert "".join(pieces) == bedrock_text(body) and len(pieces) > 5
    assert answer.found and answer.provider == "bedrock"
    assert [c.page for c in answer.citations] == [3]


@pytest.mark.parametrize(
    ("events", "says"),
    [({"throttle": True}, "throttlingException"), ({"stop": False}, "before messageStop")],
)
def test_a_broken_bedrock_stream_is_unavailable(bedrock_sm, events, says) -> None:
    converse_stream_replies(bedrock_sm, lambda body: bedrock_events(bedrock_text(body), **events))
    with pytest.raises(ServiceUnavailable, match=says):
        ask(bedrock_sm, "mv", QUESTION, trace=False, on_text=[].append)


def test_an_error_in_on_text_is_the_callers_not_the_endpoints(openai_sm) -> None:
    def refuse(text: str) -> None:
        raise ValueError("the caller's own bug")

    with pytest.raises(ValueError, match="the caller's own bug"):
        ask(openai_sm, "mv", QUESTION, trace=False, on_text=refuse)
