"""The web pages in a real browser: log in and out, the domains a user was granted, a
domain's documents (pages, search, sort, original, delete and re-index for editors), what a
viewer does not get, the API's refusals, screenshots at both widths and axe-core."""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Iterator

import httpx
import pytest
from server_helpers import Server, serving
from web_helpers import (
    Watched,
    add_team,
    log_in,
    path_of,
    screenshot,
    serious_accessibility_violations,
)

from tidyllm.dropzones import UnifiedDropZones
from tidyllm.extraction import ExtractedDocument, Page
from tidyllm.knowledge.indexing import index_document

FILES = {
    "alpha report.txt": b"Alpha: the first quarterly report of the field office.\n",
    "bravo memo.txt": b"Bravo: a memo about the budget for the next year.\n",
    "charlie notes.txt": b"Charlie: notes from the planning meeting in March.\n",
}


@pytest.fixture(scope="module")
def web_server(tmp_path_factory: pytest.TempPathFactory, module_database: str) -> Iterator[Server]:
    """``tidyllm serve --no-worker``: these tests process their files themselves."""
    with serving(tmp_path_factory.mktemp("web"), module_database, "--no-worker") as running:
        yield running


@pytest.fixture(scope="module")
def setup(web_sm) -> None:
    """ada (admin), eve (editor of reports), vic (viewer of reports); ``reports`` holds three
    dropped files and one indexed directly, ``secret`` one that only ada may see."""
    add_team(web_sm, "reports", "secret")
    with UnifiedDropZones(web_sm) as dz:
        for name, data in FILES.items():
            dz.drop_data(io.BytesIO(data), zone="ingest-reports", name=name)
        dz.drop_data(io.BytesIO(b"A secret merger memo.\n"), zone="ingest-secret", name="m.txt")
        dz.drain(["ingest-reports", "ingest-secret"], track=False)
    index_document(
        web_sm,
        domain="reports",
        document=ExtractedDocument(mime="text/plain", pages=(Page(1, "Delta direct text."),)),
        source_uri="mem://delta.txt",
        version="v1",
        content_hash="delta",
        title="delta direct",
    )


def follow(page, control) -> None:
    """Click a link or form button and wait for the page it leads to."""
    with page.expect_navigation():
        control.click()


def wait_until(page, condition: Callable[[], object], seconds: float = 30) -> None:
    """Until ``condition()``; Playwright delivers events (dialogs) while the page waits."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        page.wait_for_timeout(50)


def rows(page) -> list[str]:
    return [t.strip() for t in page.locator("#documents tbody th").all_inner_texts()]


def test_every_page_sends_a_browser_without_a_session_to_the_log_in_page(tab: Watched) -> None:
    page = tab.page
    for path in ("/", "/domains", "/domains/reports/documents", "/upload", "/uploads/1/state"):
        page.goto(path)
        assert path_of(page.url).startswith("/login"), path
    response = page.goto("/domains/reports/documents?title=alpha")
    assert path_of(page.url) == "/login?next=%2Fdomains%2Freports%2Fdocuments%3Ftitle%3Dalpha"
    headers = response.all_headers()  # the API's security headers hold for the pages too
    assert "script-src 'self';" in headers["content-security-policy"]
    assert "unsafe-inline" not in headers["content-security-policy"]
    assert headers["cache-control"] == "no-store"
    screenshot(page, "login")
    assert serious_accessibility_violations(page) == []
    log_in(page, "eve")  # back where the browser wanted to go
    assert path_of(page.url) == "/domains/reports/documents?title=alpha"
    assert rows(page) == ["alpha report.txt"]


def test_a_wrong_password_says_so_and_log_out_ends_the_session(tab: Watched) -> None:
    page = tab.page
    page.goto("/login")
    log_in(page, "eve", "not the password")
    assert path_of(page.url).startswith("/login")
    error = page.get_by_role("alert")
    assert "Wrong user name or password." in error.inner_text()
    assert page.get_by_label("User name").input_value() == "eve"
    screenshot(page, "login-failed")

    log_in(page, "eve")
    assert path_of(page.url) == "/domains"
    assert "eve" in page.locator(".who").inner_text()
    follow(page, page.get_by_role("button", name="Log out"))
    assert path_of(page.url) == "/login"
    page.goto("/domains")
    assert path_of(page.url).startswith("/login")
    # the API agrees: the cookie is gone and the old session is dead
    assert not [c for c in tab.context.cookies() if c["name"] == "tidyllm_session"]


def test_a_user_sees_only_the_domains_they_were_granted(tab: Watched, web_server) -> None:
    page = tab.page
    log_in(page, "vic")
    names = page.locator("#domains tbody th").all_inner_texts()
    assert names == ["reports"]
    assert "secret" not in page.content()
    screenshot(page, "domains")
    assert serious_accessibility_violations(page) == []
    # a domain not granted is refused exactly like one that does not exist (404)
    hidden = page.goto("/domains/secret/documents")
    missing = page.goto("/domains/nosuch/documents")
    assert hidden.status == missing.status == 404
    assert (
        page.locator("#error-message")
        .inner_text()
        .startswith("knowledge domain 'nosuch' does not exist")
    )
    assert page.get_by_role("button", name="Log out").count() == 1  # still logged in
    screenshot(page, "error-404")
    assert serious_accessibility_violations(page) == []


def test_an_admin_sees_every_domain(tab: Watched) -> None:
    log_in(tab.page, "ada")
    assert tab.page.locator("#domains tbody th").all_inner_texts() == ["reports", "secret"]


def test_the_documents_table_pages_searches_sorts_and_opens_originals(tab: Watched) -> None:
    page = tab.page
    log_in(page, "vic", next_path="/domains/reports/documents")
    assert sorted(rows(page)) == [
        "alpha report.txt",
        "bravo memo.txt",
        "charlie notes.txt",
        "delta direct",
    ]
    header = page.locator("#documents thead th").all_inner_texts()
    assert [h.strip() for h in header[:6]] == [
        "Title",
        "Pages",
        "Chunks",
        "Version",
        "State",
        "Ingested at",
    ]
    screenshot(page, "documents")
    assert serious_accessibility_violations(page) == []

    follow(page, page.get_by_role("link", name="Title"))
    assert rows(page) == sorted(rows(page))
    assert page.locator("th[aria-sort=ascending]").inner_text().startswith("Title")
    follow(page, page.get_by_role("link", name="Title"))
    assert rows(page) == sorted(rows(page), reverse=True)

    # the headers sort the whole domain, page after page (the library's order)
    page.goto("/domains/reports/documents?limit=3")
    follow(page, page.get_by_role("link", name="Title"))
    assert rows(page) == ["alpha report.txt", "bravo memo.txt", "charlie notes.txt"]
    follow(page, page.get_by_role("link", name="Next page"))
    assert rows(page) == ["delta direct"]
    assert page.locator("th[aria-sort=ascending]").inner_text().startswith("Title")
    follow(page, page.get_by_role("link", name="Title"))  # descending, from the first page
    assert rows(page) == ["delta direct", "charlie notes.txt", "bravo memo.txt"]
    follow(page, page.get_by_role("link", name="Next page"))
    assert rows(page) == ["alpha report.txt"]
    assert page.get_by_role("link", name="Version").count() == 0  # sorts no whole domain

    page.goto("/domains/reports/documents?limit=3")
    first = rows(page)
    assert len(first) == 3
    follow(page, page.get_by_role("link", name="Next page"))
    second = rows(page)
    assert len(second) == 1 and second[0] not in first
    follow(page, page.get_by_role("link", name="First page"))
    assert rows(page) == first

    page.get_by_label("Title contains").fill("BRAVO")
    follow(page, page.get_by_role("button", name="Search"))
    assert rows(page) == ["bravo memo.txt"]
    with page.expect_download() as download:
        page.get_by_role("link", name="Original of bravo memo.txt").click()
    assert download.value.suggested_filename == "bravo memo.txt"
    with open(download.value.path(), "rb") as f:
        assert f.read() == FILES["bravo memo.txt"]

    page.get_by_label("Title contains").fill("no such title")
    follow(page, page.get_by_role("button", name="Search"))
    assert "No document title contains “no such title”." in page.inner_text("#no-documents")


def test_a_viewer_gets_no_upload_delete_or_reindex_and_their_urls_are_refused(
    tab: Watched, web_server: Server
) -> None:
    page = tab.page
    log_in(page, "vic")
    assert page.get_by_role("link", name="Upload").count() == 0
    page.goto("/domains/reports/documents")
    assert page.get_by_role("button", name="Delete").count() == 0
    assert page.get_by_role("button", name="Re-index").count() == 0
    assert page.get_by_role("link", name="Upload files").count() == 0
    csrf = page.locator("body").get_attribute("data-csrf")
    doc_id = page.locator("#documents tbody tr").first.get_attribute("id").removeprefix("doc-")

    refused = page.goto("/upload")
    assert refused.status == 403
    assert "may not upload" in page.locator("#error-message").inner_text()
    screenshot(page, "error-403")
    assert page.goto("/upload?domain=secret").status == 403  # no domain to upload into at all

    # the API refuses the same user with the browser's own cookie and CSRF token
    cookies = {c["name"]: c["value"] for c in tab.context.cookies()}
    with httpx.Client(base_url=web_server.url, cookies=cookies) as client:
        headers = {"X-CSRF-Token": csrf}
        upload = client.post(
            "/api/v1/domains/reports/uploads",
            files={"file": ("x.txt", b"hello")},
            headers=headers,
        )
        assert upload.status_code == 403
        delete = f"/domains/reports/documents/{doc_id}/delete"
        assert client.post(delete, headers=headers).status_code == 403  # the viewer's role
        assert client.post(delete).status_code == 403  # and no CSRF token at all


def test_an_editor_deletes_and_reindexes_with_confirmation(tab: Watched) -> None:
    page = tab.page
    log_in(page, "eve", next_path="/domains/reports/documents")
    assert page.get_by_role("link", name="Upload files").count() == 1

    # dismissing the confirmation does nothing
    page.get_by_role("button", name="Delete charlie notes.txt").click()
    wait_until(page, lambda: tab.dialogs)
    assert tab.dialogs[-1].startswith("confirm: Delete “charlie notes.txt”")
    tab.dialogs.clear()
    assert "charlie notes.txt" in rows(page)

    tab.confirm_next = True
    page.get_by_role("button", name="Re-index alpha report.txt").click()
    row = page.locator("tr", has_text="alpha report.txt")
    row.locator(".note", has_text="queued to be indexed again").wait_for()
    assert row.locator(".badge").inner_text() == "pending"

    tab.confirm_next = True
    page.get_by_role("button", name="Re-index delta direct").click()  # indexed directly
    notice = page.locator("#notice")
    notice.filter(has_text="no original").wait_for()
    assert "was not indexed through a drop zone" in notice.inner_text()

    tab.confirm_next = True
    page.get_by_role("button", name="Delete charlie notes.txt").click()
    page.locator("tr.deleted", has_text="Deleted “charlie notes.txt”.").wait_for()
    page.reload()
    assert "charlie notes.txt" not in rows(page)
    screenshot(page, "documents-editor")
    assert serious_accessibility_violations(page) == []
