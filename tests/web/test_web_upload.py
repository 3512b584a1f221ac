"""Uploading in a real browser, against ``tidyllm serve`` with its background worker: files
chosen in the file chooser, a progress bar each, then each file's processing state live
without a reload (done; or failed with the error, its hint and Retry), and hostile names and
titles shown as text, never run."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from server_helpers import Server, serving
from web_helpers import (
    FINAL_MS,
    PASSWORD,
    Watched,
    log_in,
    screenshot,
    serious_accessibility_violations,
    warm_up,
)

from corpus_paths import CORPUS
from tidyllm.access import add_grant, add_user
from tidyllm.extraction import ExtractedDocument, Page
from tidyllm.knowledge import create_domain
from tidyllm.knowledge.indexing import index_document

PATENT = CORPUS / "us-patent-12290739.pdf"  # scanned: no text layer
XSS_NAME = "<img src=x onerror=alert(1)> <script>alert(2)<.script> javascript:alert(3).txt"
XSS_TITLE = (
    '<script>alert("title")</script><img src=x onerror=alert(4)>'
    '<a href="javascript:alert(5)">click</a>'
)
XSS_TEXT = (
    b"<script>alert(6)</script> <img src=x onerror=alert(7)> "
    b"[a link](javascript:alert(8)) <a href='javascript:alert(9)'>here</a>\n"
)


@pytest.fixture(scope="module")
def web_server(tmp_path_factory: pytest.TempPathFactory, module_database: str) -> Iterator[Server]:
    """``tidyllm serve`` with its background worker (on by default)."""
    with serving(tmp_path_factory.mktemp("web-upload"), module_database) as running:
        yield running


@pytest.fixture(scope="module")
def setup(web_sm, web_server: Server) -> None:
    """eve edits ``inbox``, which also holds a document indexed with a hostile title."""
    add_user(web_sm, "eve", "editor", PASSWORD)
    create_domain(web_sm, "inbox")
    add_grant(web_sm, "inbox", user="eve", role="editor")
    warm_up(web_server, "inbox")
    index_document(
        web_sm,
        domain="inbox",
        document=ExtractedDocument(mime="text/plain", pages=(Page(1, XSS_TEXT.decode()),)),
        source_uri="mem://hostile.txt",
        version="v1",
        content_hash="hostile",
        title=XSS_TITLE,
    )


@pytest.fixture
def tab(tab: Watched) -> Watched:
    """conftest's tab, logged in as eve on the upload page."""
    log_in(tab.page, "eve", next_path="/upload")
    return tab


def upload_item(page, name: str):
    return page.locator("#uploads li", has=page.locator(".file-name", has_text=name))


def watch_percentages(page) -> None:
    """Record every percentage the progress bars show (they change between two polls)."""
    page.evaluate(
        """() => {
        window.__percents = [];
        new MutationObserver((records) => {
          for (const r of records) {
            const el = r.target.nodeType === 3 ? r.target.parentElement : r.target;
            if (el && el.classList && el.classList.contains("percent")) {
              window.__percents.push(el.textContent);
            }
          }
        }).observe(document.getElementById("uploads"),
                   {subtree: true, childList: true, characterData: true});
        window.__same_page = true;
      }"""
    )


def test_an_editor_uploads_and_watches_each_file_reach_its_final_state(
    tab: Watched, tmp_path: Path
) -> None:
    if not PATENT.exists():
        pytest.fail(f"the scanned patent is missing from the shared corpus: {PATENT}")
    page = tab.page
    assert page.url.endswith("/upload")
    assert page.get_by_label("Domain").input_value() == "inbox"
    screenshot(page, "upload")
    assert serious_accessibility_violations(page) == []

    note = tmp_path / "field note.txt"
    note.write_text("Our fieldwork in the northern valley ended in March 2015.\n")
    watch_percentages(page)
    page.get_by_label("Files").set_input_files([note, PATENT])
    page.get_by_role("button", name="Upload").click()

    done = upload_item(page, "field note.txt").locator(".upload-state[data-state=done]")
    done.wait_for(timeout=FINAL_MS)
    assert done.locator(".badge").inner_text() == "done"
    # the pipeline steps it went through, recorded by the worker as each started
    stages = done.locator(".stages").inner_text()
    assert "extracting → indexing" in stages and "writing the report" in stages, stages
    failed = upload_item(page, PATENT.name).locator(".upload-state[data-state=failed]")
    failed.wait_for(timeout=FINAL_MS)
    text = failed.inner_text()
    assert "no text layer" in text
    assert failed.locator(".hint").inner_text().strip()  # what to do about it
    assert "extracting" in failed.locator(".stages").inner_text()  # where it failed
    assert page.evaluate("window.__same_page") is True  # no reload happened
    assert "100%" in page.evaluate("window.__percents")  # each bar followed its bytes
    screenshot(page, "upload-final")
    assert serious_accessibility_violations(page) == []

    first_id = failed.get_attribute("data-file-id")
    failed.get_by_role("button", name=f"Retry {PATENT.name}").click()
    again = upload_item(page, PATENT.name).locator(".upload-state[data-state=failed]")
    page.wait_for_function(
        """([name, old]) => [...document.querySelectorAll('#uploads li')].some(li =>
            li.querySelector('.file-name').textContent === name &&
            li.querySelector('.upload-state[data-state=failed]') &&
            li.querySelector('.upload-state').dataset.fileId !== old)""",
        arg=[PATENT.name, first_id],
        timeout=FINAL_MS,
    )
    assert "no text layer" in again.inner_text()
    assert page.evaluate("window.__same_page") is True

    page.goto("/domains/inbox/documents")
    titles = page.locator("#documents tbody th").all_inner_texts()
    assert "field note.txt" in titles and PATENT.name not in titles
    assert "warm-up.txt" in titles


def test_a_refused_upload_says_why_at_once(tab: Watched) -> None:
    page = tab.page
    page.get_by_label("Files").set_input_files(
        [{"name": "fake.pdf", "mimeType": "application/pdf", "buffer": b"PK\x03\x04zip"}]
    )
    page.get_by_role("button", name="Upload").click()
    item = upload_item(page, "fake.pdf")
    item.locator(".badge", has_text="refused").wait_for()
    assert "nothing was stored" in item.inner_text()


def test_files_dropped_on_the_box_are_uploaded_too(tab: Watched) -> None:
    page = tab.page
    page.evaluate("window.__same_page = true")
    files = page.evaluate_handle(
        """() => {
        const data = new DataTransfer();
        data.items.add(new File(["Dropped notes about the harbour survey.\\n"],
                                "dropped.txt", {type: "text/plain"}));
        return data;
      }"""
    )
    page.dispatch_event("#drop", "drop", {"dataTransfer": files})
    item = upload_item(page, "dropped.txt")
    item.locator(".upload-state[data-state=done]").wait_for(timeout=FINAL_MS)
    assert page.evaluate("window.__same_page") is True


def test_hostile_names_titles_and_text_show_as_text_and_never_run(tab: Watched) -> None:
    page = tab.page
    page.get_by_label("Files").set_input_files(
        [{"name": XSS_NAME, "mimeType": "text/plain", "buffer": XSS_TEXT}]
    )
    page.get_by_role("button", name="Upload").click()
    item = upload_item(page, "onerror")
    item.locator(".upload-state[data-state=done]").wait_for(timeout=FINAL_MS)
    assert item.locator(".file-name").inner_text() == XSS_NAME

    page.goto("/domains/inbox/documents")
    titles = page.locator("#documents tbody th").all_inner_texts()
    assert XSS_NAME in titles and XSS_TITLE in titles
    page.goto("/domains/inbox/documents?title=" + "%3Cscript%3E")
    assert page.get_by_label("Title contains").input_value() == "<script>"
    assert sorted(page.locator("#documents tbody th").all_inner_texts()) == sorted(
        [XSS_NAME, XSS_TITLE]
    )
    for where in ("/domains/inbox/documents", "/domains", "/upload"):
        page.goto(where)
        assert page.locator("img[src=x]").count() == 0, where
        assert page.locator("main script").count() == 0, where
        assert page.locator("a[href^='javascript:' i]").count() == 0, where
    page.goto("/domains/inbox/documents")
    screenshot(page, "documents-hostile")
