"""The "filter documents" fields of the ask, chat and documents pages against a real
``tidyllm serve``: an answer only from the documents the filter matches (plain post and
stream; a chat turn through htmx, without script and streamed, the filter for that turn
only), a filter matching nothing as "not found", the documents table narrowed by tag,
author, year and collection with each row's catalog metadata, hostile values refused with
the library's message (400, the fields still filled in, the server still answering, no chat
turn added), and no collection of a domain not granted in the select.

HTTP-level page tests (an httpx client logged in with the browser's session cookie):
the ``<details>`` section needs no script; one browser test for ``ask.js``'s chat form (a
refused streamed turn, then a filtered one keeping the fields).
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import expect
from server_helpers import Server, events_of, serving
from web_helpers import PASSWORD, Watched, add_team, log_in, serious_accessibility_violations

from tidyllm.extraction import ExtractedDocument, Page
from tidyllm.knowledge.catalog import set_fields, tag_document
from tidyllm.knowledge.collections import add_to_collection, create_collection
from tidyllm.knowledge.indexing import index_document

BOSTON = (
    "Boston validation report",
    "The Federal Reserve Bank of Boston leads the model validation unit. The model "
    "validation unit reviews every supervisory stress test model each year.",
)
REVIEW = (
    "Stress test review notes",
    "The model validation unit reviews the supervisory stress test models before each "
    "stress test cycle, with reviewers drawn from several Reserve Banks.",
)
QUESTION = "What does the model validation unit review?"
_CITED = re.compile(r'class="citation">\s*<summary>\[\d+\] ([^<]*?)(?:, page \d+)?</summary>')


@pytest.fixture(scope="module")
def web_server(tmp_path_factory: pytest.TempPathFactory, module_database: str) -> Iterator[Server]:
    with serving(tmp_path_factory.mktemp("web-filters"), module_database, "--no-worker") as running:
        yield running


def _index(sm, domain: str, uri: str, title: str, text: str) -> int:
    done = index_document(
        sm,
        domain=domain,
        document=ExtractedDocument(mime="text/plain", pages=(Page(1, text),)),
        source_uri=uri,
        version="1",
        content_hash=uri,
        title=title,
    )
    return done.document_id


@pytest.fixture(scope="module")
def setup(web_sm) -> dict[str, int]:
    """vic views ``fed``: the Boston report (Jane Smith and Li Wei, 2015, tagged boston)
    and the review notes (Ann Other, 2020, in the collection "Reading list"); ``secret``
    (granted to nobody) holds the collection "Secret shelf"."""
    add_team(web_sm, "fed", "secret")
    boston = _index(web_sm, "fed", "mem://boston.txt", *BOSTON)
    review = _index(web_sm, "fed", "mem://review.txt", *REVIEW)
    hidden = _index(web_sm, "secret", "mem://secret.txt", *BOSTON)
    set_fields(web_sm, boston, {"authors": "Jane Smith; Li Wei", "year": "2015"})
    tag_document(web_sm, boston, ["boston"])
    set_fields(web_sm, review, {"authors": "Ann Other", "year": "2020"})
    create_collection(web_sm, "Reading list", domain="fed")
    add_to_collection(web_sm, "Reading list", [review], domain="fed")
    create_collection(web_sm, "Secret shelf", domain="secret")
    add_to_collection(web_sm, "Secret shelf", [hidden], domain="secret")
    return {"boston": boston, "review": review}


@pytest.fixture(scope="module")
def vic(web_server: Server, setup) -> Iterator[httpx.Client]:
    """vic (viewer of ``fed``) logged in: the session cookie, the CSRF token as a header."""
    with web_server.client() as http:
        login = http.post("/api/v1/login", json={"name": "vic", "password": PASSWORD})
        assert login.status_code == 200, login.text
        http.headers["X-CSRF-Token"] = login.json()["user"]["csrf_token"]
        yield http


def ask_page(http: httpx.Client, **fields: str) -> httpx.Response:
    return http.post("/domains/fed/ask", data={"question": QUESTION, **fields})


def cited_titles(page: str) -> list[str]:
    return [html.unescape(t) for t in _CITED.findall(page)]


def error_message(page: str) -> str:
    found = re.search(r'<p id="error-message">(.*?)</p>', page, re.S)
    assert found, page
    return html.unescape(found.group(1))


def test_a_filter_that_matches_no_document_finds_nothing_and_cites_nothing(vic) -> None:
    unfiltered = ask_page(vic)
    assert unfiltered.status_code == 200, unfiltered.text
    assert cited_titles(unfiltered.text), "the question is answerable without a filter"
    for fields in ({"tags": "no-such-tag"}, {"years": "1990..1999"}, {"author": "nobody"}):
        page = ask_page(vic, **fields)
        assert page.status_code == 200, page.text
        assert 'data-found="false"' in page.text
        assert "Not found in the documents." in page.text
        assert cited_titles(page.text) == []
        assert '<details id="filters" class="filters" open>' in page.text  # still set


@pytest.mark.parametrize(
    ("fields", "title"),
    [
        ({"tags": "boston"}, BOSTON[0]),
        ({"years": "2015"}, BOSTON[0]),
        ({"author": "smith", "years": "2010..2016"}, BOSTON[0]),
        ({"years": "2016.."}, REVIEW[0]),
        ({"collection": "Reading list"}, REVIEW[0]),
    ],
)
def test_an_answer_cites_only_the_documents_the_filter_matches(vic, fields, title) -> None:
    page = ask_page(vic, **fields)
    assert page.status_code == 200, page.text
    cited = cited_titles(page.text)
    assert cited and set(cited) == {title}, cited
    for name, value in fields.items():  # the fields stay as the user set them
        assert f'name="{name}" type="text" value="{value}"' in page.text or (
            f'<option value="{value}" selected>' in page.text
        )


def test_the_streamed_answer_takes_the_same_filter(vic) -> None:
    with vic.stream(
        "POST", "/domains/fed/ask/stream", data={"question": QUESTION, "tags": "boston"}
    ) as response:
        assert response.status_code == 200
        events = events_of(response)
    final = [data for name, data in events if name == "html"]
    assert len(final) == 1, events
    assert set(cited_titles(final[0]["html"])) == {BOSTON[0]}

    refused = vic.post(
        "/domains/fed/ask/stream", data={"question": QUESTION, "years": "2024..2020"}
    )
    assert refused.status_code == 400  # before any stream: the page ask.js reads
    assert "runs backwards" in error_message(refused.text)


HOSTILE = [
    ({"years": "2024..2020"}, "year range '2024..2020' runs backwards"),
    ({"author": "x" * 10_000}, "author must be at most 300 characters"),
    ({"author": "Smith\x00"}, "without control characters"),
    ({"tags": "ok, bad\x1btag"}, "without control characters"),
    ({"collection": "No such shelf"}, "no collection 'No such shelf' in domain 'fed'"),
]


@pytest.mark.parametrize(("fields", "message"), HOSTILE)
def test_a_bad_filter_on_the_ask_page_is_a_400_with_the_librarys_message(
    vic, fields, message
) -> None:
    page = ask_page(vic, **fields)
    assert page.status_code == 400, page.text[:500]
    assert message in error_message(page.text)
    assert f">{QUESTION}</textarea>" in page.text  # the question stays
    if "years" in fields:
        assert 'name="years" type="text" value="2024..2020"' in page.text
    # the server keeps working
    assert vic.get("/domains/fed/ask").status_code == 200


@pytest.mark.parametrize(("fields", "message"), HOSTILE)
def test_a_bad_filter_on_the_documents_page_is_a_400_with_the_librarys_message(
    vic, fields, message
) -> None:
    query = {("tag" if k == "tags" else k): v for k, v in fields.items()}
    page = vic.get("/domains/fed/documents", params=query)
    assert page.status_code == 400, page.text[:500]
    assert message in error_message(page.text)
    assert vic.get("/domains/fed/documents").status_code == 200


def rows_of(page: str) -> set[int]:
    return {int(n) for n in re.findall(r'<tr id="doc-(\d+)"', page)}


def test_the_documents_page_shows_the_catalog_and_narrows_by_it(vic, setup) -> None:
    boston, review = setup["boston"], setup["review"]
    every = vic.get("/domains/fed/documents")
    assert every.status_code == 200
    assert rows_of(every.text) == {boston, review}
    assert "Jane Smith, Li Wei" in every.text and ">2015<" in every.text
    assert '<li class="tag">boston</li>' in every.text
    for query, expected in (
        ({"tag": "boston"}, {boston}),
        ({"author": "OTHER"}, {review}),
        ({"years": "2016..2024"}, {review}),
        ({"years": "2015"}, {boston}),
        ({"collection": "Reading list"}, {review}),
        ({"tag": "boston", "years": "2020"}, set()),
    ):
        page = vic.get("/domains/fed/documents", params=query)
        assert page.status_code == 200, page.text[:500]
        assert rows_of(page.text) == expected, query
        if not expected:
            assert "No document matches the filter." in page.text

    # a page of a filtered list keeps the filter in its next-page link
    first = vic.get("/domains/fed/documents", params={"years": "2000..", "limit": 1})
    assert len(rows_of(first.text)) == 1
    link = re.search(r'<a rel="next" href="([^"]+)"', first.text)
    assert link and "years=2000.." in html.unescape(link.group(1))
    second = vic.get("/domains/fed/documents" + html.unescape(link.group(1)))
    assert rows_of(second.text) == {boston, review} - rows_of(first.text)


def test_no_collection_of_a_domain_not_granted_is_offered_or_found(vic) -> None:
    for path in ("/domains/fed/ask", "/domains/fed/documents"):
        page = vic.get(path)
        assert page.status_code == 200
        assert '<option value="Reading list">Reading list</option>' in page.text
        assert "Secret shelf" not in page.text
    for refused in (
        ask_page(vic, collection="Secret shelf"),
        vic.get("/domains/fed/documents", params={"collection": "Secret shelf"}),
    ):
        assert refused.status_code == 400
        message = error_message(refused.text)
        assert "no collection 'Secret shelf' in domain 'fed'" in message
        assert "'secret'" not in refused.text
    assert vic.get("/domains/secret/ask").status_code == 404
    assert vic.get("/domains/secret/documents", params={"tag": "x"}).status_code == 404


# ---- chat: the same fields on the chat form, for one turn each


def new_chat_of(http: httpx.Client) -> str:
    """A new chat of vic's in ``fed`` (the page's New chat button); its path."""
    made = http.post("/domains/fed/chats")
    assert made.status_code == 303, made.text
    return made.headers["location"]


def chat_turn_of(http: httpx.Client, chat: str, **fields: str) -> httpx.Response:
    """A turn through htmx: only the new turn comes back."""
    return http.post(
        f"{chat}/messages", data={"question": QUESTION, **fields}, headers={"HX-Request": "true"}
    )


def turns_of(page: str) -> list[str]:
    """The chat page's stored turns, each as its HTML."""
    return page.split('<li class="turn"')[1:]


def test_a_chat_turn_takes_the_filter_for_that_turn_only(vic) -> None:
    chat = new_chat_of(vic)
    page = vic.get(chat)
    assert page.status_code == 200
    assert '<details id="filters" class="filters">' in page.text  # collapsed, no filter set
    assert '<option value="Reading list">Reading list</option>' in page.text
    assert "Secret shelf" not in page.text

    first = chat_turn_of(vic, chat, tags="boston")
    assert first.status_code == 200, first.text
    assert set(cited_titles(first.text)) == {BOSTON[0]}

    # the session keeps no filter: the next turn without one searches the whole domain
    again = vic.post(
        f"{chat}/messages", data={"question": QUESTION}, headers={"HX-Request": "true"}
    )
    assert again.status_code == 200, again.text
    assert REVIEW[0] in cited_titles(again.text), cited_titles(again.text)

    # and another filter narrows that turn to its own documents
    shelf = chat_turn_of(vic, chat, collection="Reading list")
    assert shelf.status_code == 200, shelf.text
    assert set(cited_titles(shelf.text)) == {REVIEW[0]}

    turns = turns_of(vic.get(chat).text)
    assert len(turns) == 3
    assert set(cited_titles(turns[0])) == {BOSTON[0]}
    assert set(cited_titles(turns[2])) == {REVIEW[0]}


def test_without_script_a_chat_turn_keeps_the_filter_fields_for_the_next_turn(vic) -> None:
    chat = new_chat_of(vic)
    sent = vic.post(
        f"{chat}/messages", data={"question": QUESTION, "tags": "boston", "years": "2010.."}
    )
    assert sent.status_code == 303, sent.text
    assert sent.headers["location"] == f"{chat}?tag=boston&years=2010.."
    page = vic.get(sent.headers["location"])
    assert page.status_code == 200
    (turn,) = turns_of(page.text)
    assert set(cited_titles(turn)) == {BOSTON[0]}
    assert '<details id="filters" class="filters" open>' in page.text
    assert 'name="tags" type="text" value="boston"' in page.text
    assert 'name="years" type="text" value="2010.."' in page.text

    plain = vic.post(f"{chat}/messages", data={"question": QUESTION})
    assert plain.status_code == 303 and plain.headers["location"] == chat


def test_the_streamed_chat_turn_takes_the_filter(vic) -> None:
    chat = new_chat_of(vic)
    for fields, title in (({"tags": "boston"}, BOSTON[0]), ({"years": "2016.."}, REVIEW[0])):
        with vic.stream(
            "POST", f"{chat}/messages/stream", data={"question": QUESTION, **fields}
        ) as response:
            assert response.status_code == 200
            events = events_of(response)
        final = [data for name, data in events if name == "html"]
        assert len(final) == 1, events
        assert set(cited_titles(final[0]["html"])) == {title}
    turns = turns_of(vic.get(chat).text)
    assert [set(cited_titles(t)) for t in turns] == [{BOSTON[0]}, {REVIEW[0]}]


@pytest.mark.parametrize(("fields", "message"), HOSTILE)
def test_a_bad_filter_on_the_chat_form_is_a_400_and_adds_no_turn(vic, fields, message) -> None:
    chat = new_chat_of(vic)
    assert chat_turn_of(vic, chat).status_code == 200  # one turn before
    before = vic.get(chat).text
    assert len(turns_of(before)) == 1

    # without script: the page again with the message, the question and the fields kept
    page = vic.post(f"{chat}/messages", data={"question": QUESTION, **fields})
    assert page.status_code == 400, page.text[:500]
    assert message in error_message(page.text)
    assert f">{QUESTION}</textarea>" in page.text
    assert '<details id="filters" class="filters" open>' in page.text
    if "years" in fields:
        assert 'name="years" type="text" value="2024..2020"' in page.text
    assert len(turns_of(page.text)) == 1
    # htmx: the error fragment (the page's notice area shows it)
    fragment = chat_turn_of(vic, chat, **fields)
    assert fragment.status_code == 400
    assert message in html.unescape(fragment.text)
    # the stream: refused before it starts, with the page ask.js reads
    refused = vic.post(f"{chat}/messages/stream", data={"question": QUESTION, **fields})
    assert refused.status_code == 400
    assert refused.headers["content-type"].startswith("text/html")
    assert message in error_message(refused.text)

    after = vic.get(chat)
    assert after.status_code == 200
    assert turns_of(after.text) == turns_of(before)  # no turn added, none changed
    # the server keeps working: a normal turn is answered
    normal = chat_turn_of(vic, chat, tags="boston")
    assert normal.status_code == 200 and set(cited_titles(normal.text)) == {BOSTON[0]}
    assert len(turns_of(vic.get(chat).text)) == 2


def test_another_users_chat_stays_a_404_with_or_without_a_filter(vic, web_server) -> None:
    with web_server.client() as ada:
        login = ada.post("/api/v1/login", json={"name": "ada", "password": PASSWORD})
        assert login.status_code == 200, login.text
        ada.headers["X-CSRF-Token"] = login.json()["user"]["csrf_token"]
        theirs = new_chat_of(ada)
    for fields in ({}, {"tags": "boston"}, {"years": "2024..2020"}, {"collection": "Secret shelf"}):
        data = {"question": QUESTION, **fields}
        assert vic.post(f"{theirs}/messages", data=data).status_code == 404
        assert vic.post(f"{theirs}/messages/stream", data=data).status_code == 404
    assert vic.get(theirs, params={"tag": "boston"}).status_code == 404


def test_in_the_browser_a_refused_chat_turn_keeps_what_was_typed_and_the_fields_stay(
    tab: Watched,
) -> None:
    """``ask.js``'s streamed chat turn: a bad filter's 400 shows its message under the form,
    no turn is shown, the question and fields stay; a filtered turn then empties only the
    question, the filter fields keep their values for the next turn."""
    page = tab.page
    log_in(page, "vic")
    page.goto("/domains/fed/chat")
    with page.expect_navigation():
        page.get_by_role("button", name="New chat").click()
    page.locator("#question").fill(QUESTION)
    page.get_by_text("Filter documents").click()
    page.get_by_label("Years").fill("2024..2020")
    page.get_by_role("button", name="Send").click()
    expect(page.locator("#chat-error .error")).to_contain_text("runs backwards")
    expect(page.locator("#conversation > .turn")).to_have_count(0)
    expect(page.locator("#question")).to_have_value(QUESTION)
    expect(page.get_by_label("Years")).to_have_value("2024..2020")
    assert serious_accessibility_violations(page) == []

    page.get_by_label("Years").fill("")
    page.get_by_label("Tags").fill("boston")
    page.get_by_role("button", name="Send").click()
    expect(page.locator("#conversation > .turn .answer")).to_have_count(1)
    expect(page.locator("#chat-error")).to_be_empty()
    assert set(cited_titles(page.locator("#conversation").inner_html())) == {BOSTON[0]}
    expect(page.locator("#question")).to_have_value("")
    expect(page.get_by_label("Tags")).to_have_value("boston")
    expect(page.locator("#filters")).to_have_attribute("open", "")
