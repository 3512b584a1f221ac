"""Ask and chat in a real browser against ``tidyllm serve``: an answer streamed in with its
numbered citations, a citation opening its passage with the quoted words marked and a link
to the original PDF at the cited page, the "not found in the documents" state, chat
sessions (follow-up with the query as searched, rename, delete), a viewer using both, a
domain not granted as a 404, hostile document text shown as text, axe-core and
screenshots at both widths."""

from __future__ import annotations

import io
import zlib
from collections.abc import Iterator

import pytest
from extraction_builders import raw_pdf
from server_helpers import Server, serving
from web_helpers import (
    PASSWORD,
    Watched,
    add_team,
    log_in,
    path_of,
    screenshot,
    serious_accessibility_violations,
)

from tidyllm.access.login import authenticate_password
from tidyllm.answering.chat import new_chat
from tidyllm.dropzones import UnifiedDropZones
from tidyllm.extraction import ExtractedDocument, Page
from tidyllm.knowledge.indexing import index_document

PAGES = (
    b"The Federal Reserve selected the Federal Reserve Bank of Boston to lead model "
    b"validation. The validation unit reviews every supervisory model each year.",
    b"Our fieldwork on the model validation unit ended in March 2015. We interviewed staff "
    b"at three Reserve Banks.",
    b"The stress tests check whether large banks hold enough capital to keep lending in a "
    b"severe recession.",
)
FIRST = "Which Reserve Bank leads model validation?"
FOLLOW_UP = "When did the fieldwork on it end?"
PAGE_TWO = "When did the fieldwork on the model validation unit end?"
UNRELATED = "What is the boiling point of liquid nitrogen at sea level?"
XSS_TITLE = '<img src=x onerror=alert("title")>payment memo'
XSS_TEXT = (
    "The payment schedule memo says <script>alert(6)</script> suppliers are paid on "
    "Fridays <img src=x onerror=alert(7)> through the javascript:alert(8) portal."
)
XSS_QUESTION = "When are suppliers paid according to the payment schedule memo?"


def pdf_of(pages: tuple[bytes, ...]) -> bytes:
    """A real text PDF, one page per text (Helvetica), with an exact cross-reference table."""
    n = len(pages)
    page_ids = [4 + 2 * i for i in range(n)]
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [%s] /Count %d >>"
        % (b" ".join(b"%d 0 R" % p for p in page_ids), n),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    for i, text in enumerate(pages):
        content = zlib.compress(b"BT /F1 9 Tf 20 300 Td (" + text + b") Tj ET")
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 1000 400] /Contents %d 0 R "
            b"/Resources << /Font << /F1 3 0 R >> >> >>" % (page_ids[i] + 1)
        )
        objects.append(
            b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(content)
            + content
            + b"\nendstream"
        )
    return raw_pdf(objects)


REPORT = pdf_of(PAGES)


@pytest.fixture(scope="module")
def web_server(tmp_path_factory: pytest.TempPathFactory, module_database: str) -> Iterator[Server]:
    """``tidyllm serve --no-worker``: the documents are processed here."""
    with serving(tmp_path_factory.mktemp("web-ask"), module_database, "--no-worker") as running:
        yield running


@pytest.fixture(scope="module")
def setup(web_sm) -> dict[str, str]:
    """vic views ``fed`` (a three-page PDF through its drop zone, and a hostile memo), eve
    edits it; ``secret`` is ada's only. Returns ada's chat id in ``fed``."""
    add_team(web_sm, "fed", "secret")
    with UnifiedDropZones(web_sm) as dz:
        dz.drop_data(io.BytesIO(REPORT), zone="ingest-fed", name="validation report.pdf")
        dz.drop_data(io.BytesIO(REPORT), zone="ingest-secret", name="secret report.pdf")
        dz.drain(["ingest-fed", "ingest-secret"], track=False)
    index_document(
        web_sm,
        domain="fed",
        document=ExtractedDocument(mime="text/plain", pages=(Page(1, XSS_TEXT),)),
        source_uri="mem://memo.txt",
        version="v1",
        content_hash="memo",
        title=XSS_TITLE,
    )
    ada = authenticate_password(web_sm, "ada", PASSWORD)
    return {"ada_chat": new_chat(web_sm, "fed", title="ada's", actor=ada).id}


@pytest.fixture
def tab(tab: Watched) -> Iterator[Watched]:
    """conftest's tab, and no script error on the page either."""
    yield tab
    assert not [e for e in tab.console_errors if "pageerror" in e], tab.console_errors


def ask_question(page, question: str) -> None:
    page.get_by_label("Question").fill(question)
    page.get_by_role("button", name="Ask", exact=True).click()
    page.locator("#answer .answer").wait_for()


def test_an_answer_cites_the_page_and_opens_the_passage_and_the_original(tab: Watched) -> None:
    page = tab.page
    log_in(page, "vic")  # a viewer
    with page.expect_navigation():
        page.get_by_role("link", name="Ask fed").click()
    assert path_of(page.url) == "/domains/fed/ask"
    progress: list[str] = []
    page.on(
        "response",
        lambda r: (
            progress.append(r.headers.get("content-type", ""))
            if r.url.endswith("/ask/stream")
            else None
        ),
    )
    ask_question(page, PAGE_TWO)
    assert progress and progress[0].startswith("text/event-stream")  # streamed, not the form
    answer = page.locator("#answer .answer")
    assert answer.get_attribute("data-found") == "true"
    assert "March 2015" in answer.locator(".answer-text").inner_text()
    cite = answer.locator("a.cite").first
    number = cite.inner_text().strip("[]")
    details = page.locator(f"#cite-a-{number}")
    assert details.get_attribute("open") is None
    cite.click()
    assert details.get_attribute("open") is not None
    assert "validation report.pdf, page 2" in details.locator("summary").inner_text()
    mark = details.locator("mark")
    assert "ended in March 2015" in mark.inner_text()
    link = details.get_by_role("link", name="Open the original at page 2")
    href = link.get_attribute("href")
    assert href.startswith("/domains/fed/documents/") and href.endswith("/view#page=2")
    opened = page.request.get(href.split("#")[0])
    assert opened.status == 200
    assert opened.headers["content-type"] == "application/pdf"
    assert opened.headers["content-disposition"].startswith("inline; filename=")
    assert opened.body() == REPORT
    screenshot(page, "ask-answer")
    assert serious_accessibility_violations(page) == []

    # without script the same form posts and the whole page comes back with the answer
    csrf = page.locator("body").get_attribute("data-csrf")
    plain = page.request.post("/domains/fed/ask", form={"question": PAGE_TWO, "csrf_token": csrf})
    assert plain.status == 200 and "<mark>" in plain.text() and "#page=2" in plain.text()


def test_an_unrelated_question_is_not_found_in_the_documents(tab: Watched) -> None:
    page = tab.page
    log_in(page, "vic", next_path="/domains/fed/ask")
    ask_question(page, UNRELATED)
    answer = page.locator("#answer .answer")
    assert answer.get_attribute("data-found") == "false"
    assert "Not found in the documents." in answer.inner_text()
    assert answer.locator("a.cite").count() == 0
    screenshot(page, "ask-not-found")
    assert serious_accessibility_violations(page) == []


def test_chat_follow_up_shows_the_searched_query_rename_and_delete(tab: Watched) -> None:
    page = tab.page
    log_in(page, "vic")
    with page.expect_navigation():
        page.get_by_role("link", name="Chat with fed").click()
    assert page.locator("#no-sessions").count() == 1
    screenshot(page, "chat-empty")
    with page.expect_navigation():
        page.get_by_role("button", name="New chat").click()
    assert path_of(page.url).startswith("/chats/")
    chat_url = path_of(page.url)
    turns = page.locator("#conversation > .turn")

    page.locator("#question").fill(FIRST)
    page.get_by_role("button", name="Send").click()
    turns.nth(0).locator(".answer").wait_for()
    assert "Boston" in turns.nth(0).locator(".answer-text").inner_text()
    assert turns.nth(0).locator(".retrieval-query").count() == 0  # searched as asked
    assert page.locator("#question").input_value() == ""  # the form was emptied
    # the first question names the session, in the heading and the sidebar at once
    assert page.locator("#chat-heading").inner_text() == FIRST
    assert page.locator("#sessions a[aria-current=page]").inner_text() == FIRST

    page.locator("#question").fill(FOLLOW_UP)
    page.get_by_role("button", name="Send").click()
    turns.nth(1).locator(".answer").wait_for()
    second = turns.nth(1)
    assert second.locator(".question-text").inner_text() == FOLLOW_UP
    assert second.locator(".retrieval-query").inner_text() == f"{FIRST} {FOLLOW_UP}"
    assert "March 2015" in second.locator(".answer-text").inner_text()
    second.locator("a.cite").first.click()
    opened = second.locator("details[open]")
    assert "ended in March 2015" in opened.locator("mark").inner_text()
    assert opened.get_by_role("link").get_attribute("href").endswith("/view#page=2")
    screenshot(page, "chat")
    assert serious_accessibility_violations(page) == []

    # the stored conversation, as the page shows it after a reload
    page.reload()
    assert turns.count() == 2
    assert turns.nth(1).locator(".retrieval-query").inner_text() == f"{FIRST} {FOLLOW_UP}"
    assert page.locator("#sessions a[aria-current=page]").inner_text() == FIRST

    page.get_by_text("Rename or delete this chat").click()
    page.get_by_label("Title").fill("Fieldwork <b>dates</b>")
    with page.expect_navigation():
        page.get_by_role("button", name="Rename").click()
    assert path_of(page.url) == chat_url
    assert page.locator("#chat-heading").inner_text() == "Fieldwork <b>dates</b>"
    assert page.locator("#sessions a").all_inner_texts() == ["Fieldwork <b>dates</b>"]

    page.get_by_text("Rename or delete this chat").click()
    tab.confirm_next = True
    with page.expect_navigation():
        page.get_by_role("button", name="Delete chat").click()
    assert path_of(page.url) == "/domains/fed/chat"
    assert page.locator("#no-sessions").count() == 1
    assert page.goto(chat_url).status == 404


def test_hostile_document_text_shows_as_text_in_answers_and_citations(tab: Watched) -> None:
    page = tab.page
    log_in(page, "eve", next_path="/domains/fed/ask")
    ask_question(page, XSS_QUESTION)
    answer = page.locator("#answer .answer")
    assert "<script>alert(6)</script>" in answer.locator(".answer-text").inner_text()
    answer.locator("a.cite").first.click()
    passage = answer.locator("details[open]")
    assert XSS_TITLE in passage.locator("summary").inner_text()
    assert "<img src=x onerror=alert(7)>" in passage.locator(".passage").inner_text()
    assert answer.locator("script, img, a[href^=javascript]").count() == 0
    assert passage.get_by_role("link").count() == 0  # indexed directly: no original to open
    screenshot(page, "ask-hostile")

    page.goto("/domains/fed/chat")
    with page.expect_navigation():
        page.get_by_role("button", name="New chat").click()
    page.locator("#question").fill(XSS_QUESTION)
    page.get_by_role("button", name="Send").click()
    turn = page.locator("#conversation > .turn").first
    turn.locator(".answer").wait_for()
    assert "javascript:alert(8)" in turn.locator(".answer-text").inner_text()
    page.reload()  # the stored turn and the session named by the question
    assert "<script>alert(6)</script>" in page.locator(".answer-text").first.inner_text()
    assert page.locator("main script, main img, main a[href^=javascript]").count() == 0
    assert page.locator("#sessions a").first.inner_text() == XSS_QUESTION


def test_a_domain_not_granted_and_another_user_s_chat_are_404(
    tab: Watched, setup: dict[str, str]
) -> None:
    page = tab.page
    log_in(page, "vic")
    for path in ("/domains/secret/ask", "/domains/secret/chat"):
        hidden = page.goto(path)
        assert hidden.status == 404, path
        assert (
            "knowledge domain 'secret' does not exist"
            in page.locator("#error-message").inner_text()
        )
        assert page.goto(path.replace("secret", "nosuch")).status == 404
    screenshot(page, "ask-404")
    assert serious_accessibility_violations(page) == []
    assert page.goto(f"/chats/{setup['ada_chat']}").status == 404  # ada's chat: not vic's
    csrf = page.locator("body").get_attribute("data-csrf")
    for path, form in (
        ("/domains/secret/ask/stream", {"question": FIRST}),
        ("/domains/secret/ask", {"question": FIRST}),
        ("/domains/secret/chats", {}),
        (f"/chats/{setup['ada_chat']}/messages", {"question": FIRST}),
        (f"/chats/{setup['ada_chat']}/rename", {"title": "taken"}),
        (f"/chats/{setup['ada_chat']}/delete", {}),
    ):
        refused = page.request.post(path, form=form, headers={"X-CSRF-Token": csrf})
        assert refused.status == 404, path
    assert page.request.post("/domains/fed/chats", form={}).status == 403  # no CSRF token
    assert page.request.get("/domains/secret/documents/1/view").status == 404


def test_without_a_session_the_pages_go_to_the_log_in_page_and_back(tab: Watched) -> None:
    page = tab.page
    for path in ("/domains/fed/ask", "/domains/fed/chat", "/domains/fed/documents/1/view"):
        page.goto(path)
        assert path_of(page.url).startswith("/login?next="), path
    page.goto("/domains/fed/ask")
    log_in(page, "vic")
    assert path_of(page.url) == "/domains/fed/ask"
    tab.context.clear_cookies()  # the session ends while the page is open
    page.get_by_label("Question").fill(FIRST)
    with page.expect_navigation(url="**/login?next=%2Fdomains%2Ffed%2Fask"):
        page.get_by_role("button", name="Ask", exact=True).click()
