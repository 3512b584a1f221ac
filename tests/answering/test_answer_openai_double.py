"""The measurement path for LLM answers: ask() with llm.provider = openai, scored by score_answer.

TEST DOUBLE (named as such): ``RecordedOpenAIEndpoint`` is a real HTTP server on loopback that
speaks the OpenAI chat-completions wire format and replies with a *recorded* answer text
instead of running a model (no LLM is available here). The recorded text is what a model
following the prompt would write; its ``{n}`` is filled with the number under which the
prompt lists the source that holds the quote, as the model would cite it. Everything else -
retrieval, the prompt, the citation check, the scorer - is real.
"""

from __future__ import annotations

import re

import pytest

from openai_doubles import OpenAICompatibleEndpoint, chat_completion
from tidyllm.answering import ask
from tidyllm.answering.generators import SYSTEM_PROMPT
from tidyllm.answering.scoring import AnswerScore, score_answer

QUESTION = "How many reviewers did the unit recruit for the cycle?"
QUOTE = "approximately 85 such reviewers took part in validation work"
RECORDED = {
    "answer": f'About 85 reviewers. "{QUOTE}" [{{n}}]',
    "fabricated": 'About 400 reviewers. "exactly 400 reviewers were hired" [{n}]',
    "not_found": "NOT FOUND",
}


class RecordedOpenAIEndpoint(OpenAICompatibleEndpoint):
    """TEST DOUBLE: an OpenAI-compatible endpoint replying with a recorded answer text."""

    def __init__(self) -> None:
        self.recording = "answer"
        super().__init__()

    def respond(self, body: dict) -> tuple[int, bytes]:
        return 200, chat_completion(RECORDED[self.recording].format(n=self.source_number(body)))

    @staticmethod
    def source_number(body: dict) -> int:
        """The number of the prompt's source that holds :data:`QUOTE` (1 when none does)."""
        user = body["messages"][-1]["content"]
        for match in re.finditer(
            r"^\[(\d+)\] \([^)]*\)\n(.*?)(?=^\[\d+\] \(|\Z)", user, re.S | re.M
        ):
            if QUOTE in " ".join(match.group(2).split()):
                return int(match.group(1))
        return 1


@pytest.fixture
def endpoint():
    with RecordedOpenAIEndpoint() as server:
        yield server


@pytest.fixture
def openai_sm(data_dir, database_url, endpoint, index_pages):
    from tidyllm.session import UnifiedSessionManager

    with UnifiedSessionManager(
        data_dir=data_dir,
        database={"url": database_url},
        llm={"provider": "openai", "endpoint": endpoint.url, "model": "recorded", "api_key": "k"},
    ) as manager:
        yield manager, index_pages(manager)


@pytest.mark.parametrize("mode", ["hybrid", "text"])
def test_a_recorded_llm_answer_is_asked_checked_and_scored(openai_sm, endpoint, mode) -> None:
    sm, uri = openai_sm
    answer = ask(sm, "mv", QUESTION, mode=mode, trace=False)
    assert answer.provider == "openai" and answer.found and answer.dropped == ()
    assert score_answer(answer, "approximately 85 such reviewers", {(uri, 3)}) == AnswerScore(
        cites_right_page=True, contains_phrase=True
    )
    (request,) = endpoint.requests
    messages = request["body"]["messages"]
    assert request["path"] == "/v1/chat/completions"
    assert messages[0]["content"] == SYSTEM_PROMPT
    assert "Expected answer: a number or amount, with its unit" in messages[1]["content"]
    assert messages[1]["content"].rstrip().splitlines()[-2] == f"Question: {QUESTION}"


def test_a_fabricated_quote_scores_no_right_page(openai_sm, endpoint) -> None:
    sm, uri = openai_sm
    endpoint.recording = "fabricated"
    answer = ask(sm, "mv", QUESTION, trace=False)
    assert not answer.found and len(answer.dropped) == 1
    assert score_answer(answer, "approximately 85 such reviewers", {(uri, 3)}) == AnswerScore(
        False, False
    )


def test_the_model_saying_not_found_scores_nothing(openai_sm, endpoint) -> None:
    sm, uri = openai_sm
    endpoint.recording = "not_found"
    answer = ask(sm, "mv", QUESTION, trace=False)
    assert not answer.found
    assert score_answer(answer, "85", {(uri, 3)}) == AnswerScore(False, False)


def test_the_prompt_asks_for_the_answer_type_a_quote_and_the_source_number() -> None:
    assert "a number with its unit" in SYSTEM_PROMPT and "date or period" in SYSTEM_PROMPT
    assert "word for word" in SYSTEM_PROMPT and "square brackets" in SYSTEM_PROMPT
    assert "NOT FOUND" in SYSTEM_PROMPT
