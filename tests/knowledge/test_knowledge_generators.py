"""LLM answer generation through the session manager: OpenAI-compatible and Bedrock Converse.

Test doubles (named as such): ``FakeOpenAIServer`` is a real HTTP server on
loopback that speaks the OpenAI chat-completions wire format and answers by
quoting the sources it is sent (no model can run here); Bedrock is exercised
with botocore's ``Stubber`` on the real bedrock-runtime client the session
manager builds (no AWS account here). Everything else - retrieval, prompts,
citation checks - is real.
"""

from __future__ import annotations

import re

import pytest

from openai_doubles import OpenAICompatibleEndpoint, chat_completion
from tidyllm.answering import ask
from tidyllm.answering.generators import SYSTEM_PROMPT
from tidyllm.errors import GenerationError, ServiceUnavailable
from tidyllm.extraction import ExtractedDocument, Page
from tidyllm.knowledge import create_domain, index_document

CANARY = "sk-canary-7f3e9a1c2b"
TEXT = "The Model Validation Unit recruited approximately 85 reviewers from the Reserve Banks."


class FakeOpenAIServer(OpenAICompatibleEndpoint):
    """TEST DOUBLE: an OpenAI-compatible endpoint whose reply is chosen by ``mode``."""

    def __init__(self) -> None:
        self.mode = "quote"
        super().__init__()

    def respond(self, body: dict) -> tuple[int, bytes]:
        if self.mode == "500":
            return 500, b""
        if self.mode == "garbage":
            return 200, b"not json"
        return 200, chat_completion(self.reply(body))

    def reply(self, body: dict) -> str:
        user = body["messages"][-1]["content"]
        first = re.search(r"\[1\] \([^)]*\)\n(.+)", user).group(1)
        words = " ".join(first.split()[:6])
        return {
            "quote": f'The unit recruited "{words}" [1].',
            "fabricated": 'It hired "exactly 4,000 contractors from Mars" [1] and more [9].',
            "not_found": "NOT FOUND",
        }[self.mode]


@pytest.fixture
def fake_openai():
    with FakeOpenAIServer() as server:
        yield server


def _fill(sm) -> None:
    create_domain(sm, "d")
    index_document(
        sm,
        domain="d",
        document=ExtractedDocument(mime="text/plain", pages=(Page(1, "Cover"), Page(2, TEXT))),
        source_uri="mem://report",
        version="1",
        content_hash="h",
        title="Report",
    )


@pytest.fixture
def openai_sm(data_dir, database_url, fake_openai):
    from tidyllm.session import UnifiedSessionManager

    with UnifiedSessionManager(
        data_dir=data_dir,
        database={"url": database_url},
        llm={"provider": "openai", "endpoint": fake_openai.url, "model": "m", "api_key": CANARY},
    ) as manager:
        _fill(manager)
        yield manager


def test_openai_answer_with_a_real_quote_is_cited(openai_sm, fake_openai) -> None:
    answer = ask(openai_sm, "d", "How many reviewers were recruited?", trace=False)
    assert answer.found and answer.provider == "openai"
    assert [c.page for c in answer.citations] == [2]
    request = fake_openai.requests[-1]
    assert request["path"] == "/v1/chat/completions"
    assert request["auth"] == f"Bearer {CANARY}"
    assert request["body"]["messages"][0]["content"] == SYSTEM_PROMPT
    assert "[1] (Report, page 2)" in request["body"]["messages"][1]["content"]


def test_fabricated_citations_are_dropped_and_counted(openai_sm, fake_openai) -> None:
    fake_openai.mode = "fabricated"
    answer = ask(openai_sm, "d", "How many reviewers were recruited?", trace=False)
    assert not answer.found and answer.citations == ()
    assert sorted(c.reason for c in answer.dropped) == [
        "not a retrieved source",
        "quoted text is not in the cited source",
    ]


def test_not_found_from_the_model(openai_sm, fake_openai) -> None:
    fake_openai.mode = "not_found"
    answer = ask(openai_sm, "d", "How many reviewers were recruited?", trace=False)
    assert not answer.found and answer.text == "Not found in the documents."


@pytest.mark.parametrize(
    ("mode", "error"), [("500", ServiceUnavailable), ("garbage", GenerationError)]
)
def test_endpoint_failures_are_clear_and_never_leak_the_key(openai_sm, fake_openai, mode, error):
    fake_openai.mode = mode
    with pytest.raises(error) as caught:
        ask(openai_sm, "d", "How many reviewers were recruited?", trace=False)
    assert CANARY not in str(caught.value) and CANARY not in repr(caught.value)


@pytest.fixture
def bedrock_sm(data_dir, database_url, monkeypatch):
    from tidyllm.session import UnifiedSessionManager

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing-secret")
    with UnifiedSessionManager(
        data_dir=data_dir,
        database={"url": database_url},
        llm={"provider": "bedrock", "model": "anthropic.claude-3-haiku", "region": "us-east-1"},
    ) as manager:
        _fill(manager)
        yield manager


def _converse_reply(text: str) -> dict:
    return {
        "output": {"message": {"role": "assistant", "content": [{"text": text}]}},
        "stopReason": "end_turn",
        "usage": {"inputTokens": 10, "outputTokens": 5, "totalTokens": 15},
        "metrics": {"latencyMs": 12},
    }


def test_bedrock_converse_request_and_answer(bedrock_sm) -> None:
    from botocore.stub import ANY, Stubber

    client = bedrock_sm.llm().client
    with Stubber(client) as stub:  # TEST DOUBLE: botocore's stubbed transport
        stub.add_response(
            "converse",
            _converse_reply('They recruited "approximately 85 reviewers" [1].'),
            {
                "modelId": "anthropic.claude-3-haiku",
                "system": [{"text": SYSTEM_PROMPT}],
                "messages": ANY,
                "inferenceConfig": {"maxTokens": 800, "temperature": 0.0},
            },
        )
        answer = ask(bedrock_sm, "d", "How many reviewers were recruited?", trace=False)
        stub.assert_no_pending_responses()
    assert answer.found and answer.provider == "bedrock"
    assert [c.page for c in answer.citations] == [2]


@pytest.mark.parametrize(
    ("code", "error"),
    [("ThrottlingException", ServiceUnavailable), ("AccessDeniedException", GenerationError)],
)
def test_bedrock_errors_are_mapped(bedrock_sm, code, error) -> None:
    from botocore.stub import Stubber

    client = bedrock_sm.llm().client
    with Stubber(client) as stub, pytest.raises(error, match=code):
        stub.add_client_error("converse", service_error_code=code, http_status_code=400)
        ask(bedrock_sm, "d", "How many reviewers were recruited?", trace=False)
