"""Answers stream into the ask and chat pages when the LLM streams, in a real browser
against ``tidyllm serve``: the model's draft shows as text while it is written, marked as a
draft, then the checked answer with its citation replaces it.

TEST DOUBLE (named as such): ``RecordedAnswerEndpoint`` (tests/openai_doubles.py), a real
HTTP server on loopback speaking the OpenAI wire format with a *recorded* answer streamed
word by word (no model can run here); the server is configured with it as
``llm.provider=openai``. To prove streaming rather than speed, the double sends the first
half of the words and then waits on a ``threading.Event``: the test sees those words on the
page as a draft, and no answer yet, before it lets the rest go. No timing is asserted; every
wait is a condition with a generous bound.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect
from server_helpers import Server, serving
from web_helpers import (
    PASSWORD,
    WAIT_MS,
    Watched,
    add_team,
    log_in,
    screenshot,
    serious_accessibility_violations,
)

from openai_doubles import RecordedAnswerEndpoint, words_of
from tidyllm.access.login import authenticate_password
from tidyllm.answering.chat import new_chat
from tidyllm.extraction import ExtractedDocument, Page
from tidyllm.knowledge.indexing import index_document

PAGES = (
    "The Federal Reserve selected the Federal Reserve Bank of Boston to lead model validation.",
    "Our fieldwork on the model validation unit ended in March 2015. We interviewed staff at "
    "three Reserve Banks.",
)
QUESTION = "When did the fieldwork on the model validation unit end?"
QUOTE = "Our fieldwork on the model validation unit ended in March 2015"
HOSTILE = "<img src=x onerror=alert(1)>"
RECORDED = f'Fieldwork ended in March 2015 {HOSTILE} as the report says. "{QUOTE}" [{{n}}]'
FIRST_HALF = "".join(words_of(RECORDED)[: len(words_of(RECORDED)) // 2])
assert HOSTILE in FIRST_HALF and QUOTE not in FIRST_HALF


@pytest.fixture(scope="module")
def llm() -> Iterator[RecordedAnswerEndpoint]:
    with RecordedAnswerEndpoint(RECORDED, QUOTE) as endpoint:
        yield endpoint


@pytest.fixture(scope="module")
def web_server(tmp_path_factory, module_database: str, llm) -> Iterator[Server]:
    """``tidyllm serve --no-worker`` answering with the recorded, streamed LLM."""
    tmp = tmp_path_factory.mktemp("web-stream")
    env = llm.server_env("k-web-streaming")
    with serving(tmp, module_database, "--no-worker", env=env) as running:
        yield running


@pytest.fixture(scope="module")
def setup(web_sm) -> dict[str, str]:
    """vic views ``fed`` (two pages of text); returns vic's and ada's chat ids there."""
    add_team(web_sm, "fed")
    index_document(
        web_sm,
        domain="fed",
        document=ExtractedDocument(
            mime="text/plain", pages=tuple(Page(i + 1, t) for i, t in enumerate(PAGES))
        ),
        source_uri="mem://fed.txt",
        version="1",
        content_hash="fed",
        title="fed report",
    )
    vic = authenticate_password(web_sm, "vic", PASSWORD)
    ada = authenticate_password(web_sm, "ada", PASSWORD)
    return {
        "chat": new_chat(web_sm, "fed", actor=vic).id,
        "ada_chat": new_chat(web_sm, "fed", actor=ada).id,
    }


@pytest.fixture
def gate(llm: RecordedAnswerEndpoint) -> Iterator[threading.Event]:
    """The double holds back the second half of each streamed answer until this is set."""
    llm.gate = threading.Event()
    llm.half_sent.clear()
    try:
        yield llm.gate
    finally:
        llm.gate.set()
        llm.gate = None


@pytest.fixture
def tab(tab: Watched) -> Iterator[Watched]:
    """conftest's tab (no dialog, no CSP violation), and no script error either."""
    yield tab
    assert not [e for e in tab.console_errors if "pageerror" in e], tab.console_errors


def streams_seen(page) -> list[str]:
    """The content types of the page's ``.../stream`` responses, as they come."""
    seen: list[str] = []
    page.on(
        "response",
        lambda r: seen.append(r.headers.get("content-type", "")) if "/stream" in r.url else None,
    )
    return seen


def test_the_draft_streams_in_then_the_checked_answer_replaces_it(tab, gate, llm) -> None:
    page = tab.page
    log_in(page, "vic")
    page.goto("/domains/fed/ask")
    seen = streams_seen(page)
    page.get_by_label("Question").fill(QUESTION)
    page.get_by_role("button", name="Ask", exact=True).click()
    draft = page.locator("#answer .draft")
    expect(draft.locator(".draft-text")).to_have_text(FIRST_HALF, timeout=WAIT_MS)
    assert llm.half_sent.is_set()
    expect(draft.locator(".draft-label")).to_contain_text("Drafting")
    assert draft.get_attribute("aria-live") == "polite"
    assert page.locator("#answer .answer").count() == 0  # the checked answer is not there yet
    assert page.locator("#answer img").count() == 0  # the hostile words are text
    assert serious_accessibility_violations(page) == []
    screenshot(page, "ask-draft")
    gate.set()
    answer = page.locator("#answer .answer[data-found=true]")
    answer.wait_for()
    assert page.locator("#answer .draft").count() == 0
    assert seen and seen[0].startswith("text/event-stream")
    text = answer.locator(".answer-text").inner_text()
    assert HOSTILE in text and QUOTE in text
    assert page.locator("#answer img").count() == 0
    cite = answer.locator("a.cite").first
    cite.click()
    details = page.locator(f"#cite-a-{cite.inner_text().strip('[]')}")
    assert details.get_attribute("open") is not None
    assert "fed report, page 2" in details.locator("summary").inner_text()
    assert QUOTE in details.locator("mark").inner_text()


def test_a_chat_turn_shows_the_question_streams_the_draft_then_the_turn(
    tab, gate, llm, setup
) -> None:
    page = tab.page
    log_in(page, "vic")
    page.goto(f"/chats/{setup['chat']}")
    seen = streams_seen(page)
    page.get_by_label("Question").fill(QUESTION)
    page.get_by_role("button", name="Send").click()
    turn = page.locator("#conversation > .turn").last
    expect(turn.locator(".question-text")).to_have_text(QUESTION, timeout=WAIT_MS)
    expect(turn.locator(".draft .draft-text")).to_have_text(FIRST_HALF, timeout=WAIT_MS)
    assert turn.locator(".answer").count() == 0
    assert page.locator("#conversation img").count() == 0
    screenshot(page, "chat-draft")
    gate.set()
    answer = page.locator("#conversation .turn .answer[data-found=true]")
    answer.wait_for()
    assert page.locator("#conversation .draft").count() == 0
    assert page.locator("#conversation > .turn").count() == 1
    assert seen and seen[0].startswith("text/event-stream")
    assert HOSTILE in answer.locator(".answer-text").inner_text()
    assert answer.locator("a.cite").count() >= 1
    expect(page.locator("#chat-heading")).to_have_text(QUESTION)  # the first question names it
    expect(page.locator("#session-list")).to_contain_text(QUESTION)
    expect(page.get_by_label("Question")).to_have_value("")  # emptied for the next one
    page.reload()
    stored = page.locator("#conversation .turn .answer[data-found=true] .answer-text")
    assert HOSTILE in stored.inner_text()
    assert page.locator("#conversation img").count() == 0


def test_the_chat_stream_checks_csrf_and_the_owner_before_streaming(tab, setup, llm) -> None:
    page = tab.page
    log_in(page, "vic")
    page.goto(f"/chats/{setup['chat']}")
    csrf = page.locator("body").get_attribute("data-csrf")
    sent = len(llm.requests)
    form = {"question": QUESTION}
    ada_chat = f"/chats/{setup['ada_chat']}/messages/stream"
    refused = page.request.post(ada_chat, form=form, headers={"X-CSRF-Token": csrf})
    assert refused.status == 404  # ada's chat is not vic's: as if it did not exist
    own = f"/chats/{setup['chat']}/messages/stream"
    assert page.request.post(own, form=form).status == 403  # no CSRF token
    assert len(llm.requests) == sent  # nothing reached the LLM
