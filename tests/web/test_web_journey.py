"""Issue 12's journey in a real browser (its "Must show", first bullet), against a real
``tidyllm serve`` with its background worker, embedded PostgreSQL, the local object store
and the embedded offline defaults.

ada (admin) and eve (editor of ``journey``) are made with the library, as the other
browser tests make them. eve logs in, chooses the Federal Reserve report and the scanned
patent in the file chooser, and watches, without a reload, the report reach done and the
patent fail with the no-text-layer error, its hint and a Retry button. She asks a question
whose answer is on a known page of the report (tests/server/test_user_journey.py knows
which), opens the citation's passage and the original at that page, then chats with a
follow-up. ada then sees both files on the dashboard and retries the failed one, which
fails again the same way (it is a scan). Every page is screenshot at both widths and
checked with axe-core; ``tab`` fails the test on any dialog or CSP report.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import expect
from server_helpers import Server, serving
from web_helpers import (
    WAIT_MS,
    Watched,
    add_team,
    log_in,
    path_of,
    screenshot,
    serious_accessibility_violations,
)

from corpus_facts import ASK, CHAT, FOLLOW_UP, no_text_layer_error
from corpus_paths import FED_PDF, PATENT_PDF

pytestmark = pytest.mark.timeout(1800)  # two real PDFs, twice the patent, on a busy machine

DOMAIN = "journey"
FINAL_S = 300  # the longest a file may take to reach a final state (busy: tens of seconds)
SAME_PAGE = "window.__journey_same_page === true"  # set before uploading, lost on a reload


@pytest.fixture(scope="module")
def web_server(tmp_path_factory: pytest.TempPathFactory, module_database: str) -> Iterator[Server]:
    """``tidyllm serve`` with its background worker (on by default)."""
    with serving(tmp_path_factory.mktemp("web-journey"), module_database) as running:
        yield running


@pytest.fixture(scope="module")
def setup(web_sm) -> None:
    """The admin's part: ada (admin), and eve granted ``journey`` as its editor."""
    for pdf in (FED_PDF, PATENT_PDF):
        if not pdf.exists():
            pytest.fail(f"{pdf.name} is missing from the shared corpus: {pdf}")
    add_team(web_sm, DOMAIN)


@pytest.fixture
def tab(tab: Watched) -> Iterator[Watched]:
    """conftest's tab (no dialog, no CSP report), and no script error on any page."""
    yield tab
    assert not [e for e in tab.console_errors if "pageerror" in e], tab.console_errors


# -- small steps ------------------------------------------------------------------------------


def checked(page, name: str) -> None:
    """The page as it is now: screenshots at both widths, and no serious axe violation."""
    screenshot(page, f"journey-{name}")
    assert serious_accessibility_violations(page) == [], page.url


def follow(page, role: str, name: str) -> None:
    """Click a link or button that loads another page, and wait for it."""
    with page.expect_navigation():
        page.get_by_role(role, name=name, exact=True).click()


def final_upload_state(page, name: str, state: str):
    """The upload page's state of file ``name``, once it shows ``state`` (polled by htmx)."""
    item = page.locator("#uploads li", has=page.locator(".file-name", has_text=name))
    final = item.locator(f".upload-state[data-state={state}]")
    final.wait_for(timeout=FINAL_S * 1000)
    return final


def open_citation_of_page(answer, page_number: int):
    """Click the ``[n]`` marker of the citation of ``page_number``; its opened details."""
    summaries = answer.locator("details.citation summary").all_inner_texts()
    numbers = [s.split("]")[0].strip("[") for s in summaries if s.endswith(f", page {page_number}")]
    assert numbers, f"no citation of page {page_number}: {summaries}"
    marker = answer.locator("a.cite", has_text=f"[{numbers[0]}]").first
    href = marker.get_attribute("href")
    marker.click()
    details = answer.locator(f"details{href}")
    assert details.get_attribute("open") is not None
    return details


def assert_passage_and_page_link(details, page_number: int) -> str:
    """The passage shows the quoted words marked; the link opens the original at the page.
    Returns the link's URL without its fragment."""
    marked = details.locator(".passage mark").inner_text().strip()
    assert marked and marked in details.locator(".passage").inner_text(), marked
    href = details.locator("a.page-link").get_attribute("href")
    assert href.startswith(f"/domains/{DOMAIN}/documents/"), href
    assert href.endswith(f"/view#page={page_number}"), href
    return href.split("#")[0]


# -- the journey ------------------------------------------------------------------------------


def test_an_editor_uploads_asks_and_chats_and_an_admin_retries_the_failed_file(
    tab: Watched,
) -> None:
    page = tab.page
    message, hint = no_text_layer_error()

    # eve logs in and opens the upload page of her domain
    page.goto("/login")
    checked(page, "login")
    log_in(page, "eve")
    assert path_of(page.url) == "/domains"
    checked(page, "domains")
    follow(page, "link", f"Upload files into {DOMAIN}")
    assert path_of(page.url) == f"/upload?domain={DOMAIN}"
    assert page.get_by_label("Domain").input_value() == DOMAIN
    checked(page, "upload")

    # both PDFs through the file chooser; then their states, live, on this same page
    page.evaluate("window.__journey_same_page = true")
    with page.expect_file_chooser() as chooser:
        page.get_by_label("Files").click()
    assert chooser.value.is_multiple()
    chooser.value.set_files([FED_PDF, PATENT_PDF])
    page.get_by_role("button", name="Upload").click()
    done = final_upload_state(page, FED_PDF.name, "done")
    assert done.locator(".badge").inner_text() == "done"
    failed = final_upload_state(page, PATENT_PDF.name, "failed")
    assert failed.locator(".error-text").inner_text() == message
    assert failed.locator(".hint").inner_text() == hint
    assert failed.get_by_role("button", name=f"Retry {PATENT_PDF.name}").is_visible()
    assert page.evaluate(SAME_PAGE) is True  # no reload happened
    fed_id, patent_id = done.get_attribute("data-file-id"), failed.get_attribute("data-file-id")
    checked(page, "upload-final")

    # the report is the domain's one document (its PDF title); the scan made none
    follow(page, "link", "Domains")
    follow(page, "link", DOMAIN)
    titles = page.locator("#documents tbody th").all_inner_texts()
    assert len(titles) == 1 and "Stress Testing Model Validation" in titles[0], titles
    checked(page, "documents")

    # ask: the answer cites the page that holds it; the citation opens passage and page
    follow(page, "link", "Domains")
    follow(page, "link", f"Ask {DOMAIN}")
    question, page_number = ASK
    page.get_by_label("Question").fill(question)
    page.get_by_role("button", name="Ask", exact=True).click()
    answer = page.locator("#answer .answer")
    answer.wait_for(timeout=FINAL_S * 1000)
    assert answer.get_attribute("data-found") == "true"
    assert "85" in answer.locator(".answer-text").inner_text()
    details = open_citation_of_page(answer, page_number)
    view = assert_passage_and_page_link(details, page_number)
    assert "85" in details.locator("mark").inner_text()  # the quote holds the answer
    original = page.request.get(view)
    assert original.status == 200
    assert original.headers["content-type"] == "application/pdf"
    assert original.headers["content-disposition"].startswith("inline; filename=")
    assert original.body() == FED_PDF.read_bytes()
    checked(page, "ask")

    # chat: a question, then a follow-up searched together with it
    follow(page, "link", f"Chat with {DOMAIN}")
    follow(page, "button", "New chat")
    question, page_number = CHAT
    turns = page.locator("#conversation > .turn")
    for n, asked in enumerate((question, FOLLOW_UP)):
        page.locator("#question").fill(asked)
        page.get_by_role("button", name="Send").click()
        turns.nth(n).locator(".answer").wait_for(timeout=FINAL_S * 1000)
    first, second = turns.nth(0), turns.nth(1)
    assert "two-year" in first.locator(".answer-text").inner_text()
    assert second.locator(".question-text").inner_text() == FOLLOW_UP
    assert second.locator(".retrieval-query").inner_text() == f"{question} {FOLLOW_UP}"
    assert second.locator(".answer").get_attribute("data-found") == "true"
    assert_passage_and_page_link(open_citation_of_page(second, page_number), page_number)
    checked(page, "chat")

    # eve logs out; ada logs in and opens the dashboard
    follow(page, "button", "Log out")
    assert path_of(page.url).startswith("/login")
    log_in(page, "ada")
    follow(page, "link", "Dashboard")
    zone = page.locator(f"#zone-ingest-{DOMAIN}")
    assert zone.locator("[data-state=done]").inner_text() == "done 1"
    assert zone.locator("[data-state=failed]").inner_text() == "failed 1"
    row = page.locator(f"#failed-{patent_id}")
    assert PATENT_PDF.name in row.locator("th").inner_text()
    assert row.locator(".error-text").inner_text() == message
    assert row.locator(".hint").inner_text() == hint
    page.locator("#health-table").wait_for()  # both loaded after the page
    expect(page.locator("#mlflow")).not_to_contain_text("Asking MLflow", timeout=WAIT_MS)
    checked(page, "dashboard")

    # both files among the recent files; the report's ledger history from there
    recent = page.locator("#recent")
    assert recent.locator(f"#recent-{fed_id}").get_attribute("data-state") == "done"
    assert recent.locator(f"#recent-{patent_id}").get_attribute("data-state") == "failed"
    recent.locator(f"#recent-{fed_id} a").click()
    page.wait_for_url(f"**/dashboard/files/{fed_id}")
    assert FED_PDF.name in page.locator("h1").inner_text()
    assert "done" in page.locator("#file-facts").inner_text()
    assert page.locator("#events tbody tr[data-kind=done]").count() == 1
    checked(page, "fed-history")

    # Retry the patent: queued again as a new file, which fails again the same way
    follow(page, "link", "Back to the dashboard")
    page.evaluate("window.__journey_same_page = true")
    row.get_by_role("button", name="Retry").click()
    retried = row.locator(".retried")
    retried.wait_for()
    assert page.evaluate(SAME_PAGE) is True  # the row changed in place
    new_id = retried.get_by_role("link").inner_text().removeprefix("file #")
    assert int(new_id) > int(patent_id)
    # the new file's state follows live in the row until it fails again
    state = row.locator(f".upload-state[data-file-id='{new_id}']")
    state.and_(page.locator("[data-state=failed]")).wait_for(timeout=FINAL_S * 1000)
    assert state.locator(".error-text").inner_text() == message
    assert page.evaluate(SAME_PAGE) is True
    checked(page, "dashboard-retried")
    follow(page, "link", f"file #{new_id}")
    detected = page.locator("#events tbody tr[data-kind=detected]")
    assert "by: retry" in detected.inner_text()  # the failure was queued again
    assert page.locator("#file-facts .badge.state-failed").count() == 1
    facts = page.locator("#file-facts")
    assert PATENT_PDF.name in page.locator("h1").inner_text()
    assert facts.locator(".error-text").inner_text() == message
    assert facts.locator(".hint").inner_text() == hint
    checked(page, "retried-history")

    # the dashboard lists the new failure in place of the first
    follow(page, "link", "Back to the dashboard")
    again = page.locator(f"#failed-{new_id}")
    assert again.locator(".error-text").inner_text() == message
    assert page.locator(f"#failed-{patent_id}").count() == 0  # moved back, then failed anew

    # the first attempt's history: failed, then retried
    page.goto(f"/dashboard/files/{patent_id}")
    kinds = [k.strip() for k in page.locator("#events td[data-label=Event]").all_inner_texts()]
    assert kinds[0] == "detected" and "failed" in kinds and kinds[-1] == "retried", kinds
