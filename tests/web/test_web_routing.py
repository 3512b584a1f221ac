"""Smart routing in a real browser, against ``tidyllm serve`` with routing rules and its
worker: "Automatic" shows each chosen file's destination, the rule and why, before
anything is sent; a rule to a domain the user may not upload into never shows; the user
overrides a file with no rule; each file lands in its domain and reaches done."""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from extraction_builders import raw_pdf
from server_helpers import Server, serving
from web_helpers import (
    FINAL_MS,
    Watched,
    add_team,
    log_in,
    screenshot,
    serious_accessibility_violations,
    warm_up,
)

from tidyllm.access import add_grant
from tidyllm.knowledge.uploads import upload_history

RULES = """\
upload:
  routes:
    - name: secret-notes
      match: {name: "*.md"}
      domain: secret
    - name: pdfs
      match: {type: application/pdf, name: "*.pdf"}
      domain: reports
    - name: notes
      match: {type: "text/*", name: "*.md"}
      domain: notes
"""
HOSTILE = "<img src=x onerror=alert(1)><script>alert(2)<.script>.md"


def one_page_pdf(text: bytes) -> bytes:
    content = zlib.compress(b"BT /F1 12 Tf 20 300 Td (" + text + b") Tj ET")
    return raw_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [4 0 R] /Count 1 >>",
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 1000 400] /Contents 5 0 R "
            b"/Resources << /Font << /F1 3 0 R >> >> >>",
            b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(content)
            + content
            + b"\nendstream",
        ]
    )


@pytest.fixture(scope="module")
def web_server(tmp_path_factory: pytest.TempPathFactory, module_database: str) -> Iterator[Server]:
    """``tidyllm serve`` with its worker and the routing rules above (from TIDYLLM_CONFIG)."""
    tmp = tmp_path_factory.mktemp("web-routing")
    config = tmp / "tidyllm.yaml"
    config.write_text(RULES, encoding="utf-8")
    with serving(tmp, module_database, env={"TIDYLLM_CONFIG": str(config)}) as server:
        yield server


@pytest.fixture(scope="module")
def setup(web_sm, web_server: Server) -> None:
    """eve edits reports and notes; secret exists, granted to nobody."""
    add_team(web_sm, "reports", "notes", "secret")
    add_grant(web_sm, "notes", user="eve", role="editor")
    warm_up(web_server, "notes")


def route_item(page, name: str):
    return page.locator("#routes li", has=page.locator(".file-name", has_text=name))


def upload_item(page, name: str):
    return page.locator("#uploads li", has=page.locator(".file-name", has_text=name))


def test_automatic_shows_the_rule_and_why_then_each_file_lands_in_its_domain(
    tab: Watched, web_sm, tmp_path: Path
) -> None:
    page = tab.page
    log_in(page, "eve", next_path="/upload")
    report = tmp_path / "quarterly report.pdf"
    report.write_bytes(one_page_pdf(b"Quarterly revenue rose in the northern valley."))
    plan = tmp_path / "plan.md"
    plan.write_text("# Plan\n\nThe fieldwork ends in March.\n")
    table = tmp_path / "table.csv"
    table.write_text("year,revenue\n2015,12\n")
    hostile = tmp_path / HOSTILE
    hostile.write_text("Hostile name, plain text.\n")

    page.get_by_label("Domain").select_option(label="Automatic (routing rules)")
    page.get_by_label("Files").set_input_files([report, plan, table, hostile])
    for name in (report.name, plan.name, table.name, hostile.name):
        page.wait_for_function(
            "name => [...document.querySelectorAll('#routes li')].some("
            "li => li.querySelector('.file-name').textContent === name && li.dataset.routed)",
            arg=name,
        )
    assert page.locator("#uploads li").count() == 0  # nothing was sent yet

    why = route_item(page, report.name).locator(".route-why").inner_text()
    assert why == (
        "→ domain reports, by rule pdfs: type application/pdf matched application/pdf, "
        "name matched *.pdf"
    ), why
    assert page.get_by_label(f"Destination of {report.name}").input_value() == "reports"
    # secret-notes points at a domain eve may not upload into: as if it were not there
    why = route_item(page, plan.name).locator(".route-why").inner_text()
    assert why.startswith("→ domain notes, by rule notes: type text/markdown matched text/*")
    assert "secret" not in page.content()
    assert route_item(page, hostile.name).get_attribute("data-domain") == "notes"
    assert route_item(page, hostile.name).locator(".file-name").inner_text() == hostile.name
    # no rule for a CSV: the user chooses (an override, as for any file)
    why = route_item(page, table.name).locator(".route-why").inner_text()
    assert why == "No rule applies to you: choose a domain.", why
    screenshot(page, "upload-routing")
    assert serious_accessibility_violations(page) == []

    page.get_by_role("button", name="Upload").click()  # table.csv has no destination yet
    assert page.locator("#uploads li").count() == 0
    assert "Choose a domain for table.csv" in page.locator("#notice").inner_text()
    page.get_by_label(f"Destination of {table.name}").select_option("reports")
    page.get_by_role("button", name="Upload").click()

    expected = {report.name: "reports", plan.name: "notes", table.name: "reports"}
    expected[hostile.name] = "notes"
    for name, domain in expected.items():
        done = upload_item(page, name).locator(".upload-state[data-state=done]")
        done.wait_for(timeout=FINAL_MS)
        file_id = int(done.get_attribute("data-file-id"))
        zone = upload_history(web_sm, file_id)["file"]["zone"]
        assert zone == f"ingest-{domain}", (name, zone)
    screenshot(page, "upload-routing-final")


def test_a_viewer_has_no_upload_page_and_no_answer_from_the_rules(tab: Watched) -> None:
    page = tab.page
    log_in(page, "vic")
    csrf = page.evaluate("document.body.dataset.csrf")
    asked = page.request.post(
        "/api/v1/uploads/route",
        data={"name": "a.md", "size": 4, "head": "IyBhCg=="},
        headers={"X-CSRF-Token": csrf},
    )
    assert asked.status == 403 and "notes" not in asked.text() and "secret" not in asked.text()
    response = page.goto("/upload")
    assert response is not None and response.status == 403
    assert "Automatic" not in page.content()
