"""The operations dashboard in a real browser, against ``tidyllm serve`` with its worker:
services' health with where their settings came from, zones with counts and the last hour's
chart, a file that really failed (the scanned patent: no text layer) retried from the
dashboard and its ledger history, MLflow runs with links to the MLflow UI, the audit log
with filters; editors and viewers get no link and the API's 403."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from server_helpers import Server, free_port, start_server, stop_server
from web_helpers import (
    PASSWORD,
    Watched,
    add_team,
    log_in,
    path_of,
    screenshot,
    serious_accessibility_violations,
)

from corpus_paths import CORPUS

PATENT = CORPUS / "us-patent-12290739.pdf"  # scanned: no text layer, fails for real
FINAL_S = 240  # extraction on a machine running the suite twice
UI_URL = "http://mlflow.example.test:5000"


@pytest.fixture(scope="module")
def web_server(tmp_path_factory: pytest.TempPathFactory, module_database: str) -> Iterator[Server]:
    """``tidyllm serve`` with its worker, and an MLflow UI URL for the runs' links."""
    old = os.environ.get("TIDYLLM_MLFLOW__UI_URL")
    os.environ["TIDYLLM_MLFLOW__UI_URL"] = UI_URL
    try:
        running = start_server(tmp_path_factory.mktemp("web-dashboard"), module_database)
    finally:
        if old is None:
            del os.environ["TIDYLLM_MLFLOW__UI_URL"]
        else:
            os.environ["TIDYLLM_MLFLOW__UI_URL"] = old
    try:
        yield running
    finally:
        stop_server(running)


def upload(http: httpx.Client, name: str, data: bytes, final: str) -> int:
    """One file through the API's upload route, waited for until its ledger state is final."""
    sent = http.post("/api/v1/domains/ops/uploads", files={"file": (name, data)})
    assert sent.status_code == 201, sent.text
    file_id = sent.json()["files"][0]["id"]
    deadline = time.monotonic() + FINAL_S
    while (state := http.get(f"/api/v1/uploads/{file_id}").json()["state"]) != final:
        assert state in ("pending", "processing"), state
        assert time.monotonic() < deadline, f"{name} did not reach {final}"
        time.sleep(0.3)
    return file_id


@pytest.fixture(scope="module")
def setup(web_sm, web_server: Server) -> dict[str, int]:
    """ada (admin), eve (editor of ops), vic (viewer of ops); one file done and the scanned
    patent failed in ``ingest-ops``, one after the other; one MLflow run logged."""
    if not PATENT.exists():
        pytest.fail(f"the scanned patent is missing from the shared corpus: {PATENT}")
    add_team(web_sm, "ops")
    with web_server.client() as http:
        login = http.post("/api/v1/login", json={"name": "ada", "password": PASSWORD})
        assert login.status_code == 200, login.text
        http.headers["X-CSRF-Token"] = login.json()["user"]["csrf_token"]
        done = upload(http, "ops note.txt", b"Operations note: the pumps were serviced.\n", "done")
        failed = upload(http, PATENT.name, PATENT.read_bytes(), "failed")
    for _ in range(30):  # the server's background flush may hold (or migrate) the store
        try:
            run = web_sm.tracker().log_run(run_name="dashboard-test-run", params={"zone": "ops"})
        except Exception:  # MLflow's own errors while the server creates the same store
            time.sleep(1)
            continue
        if not run.buffered:
            break
        time.sleep(1)
    else:
        pytest.fail("the test's MLflow run stayed buffered")
    return {"done": done, "failed": failed}


def test_an_admin_sees_health_zones_failures_runs_and_audit_and_retries_a_failed_file(
    tab: Watched, web_server: Server, setup: dict[str, int]
) -> None:
    page = tab.page
    log_in(page, "ada")
    with page.expect_navigation():
        page.get_by_role("link", name="Dashboard").click()
    assert path_of(page.url) == "/dashboard"

    # every service's health, with where its settings came from (doctor's own results)
    database = page.locator("#health-table tr[data-service=database]")
    database.wait_for()
    assert database.get_attribute("data-status") == "ok"
    assert "URL from" in database.locator(".source").inner_text()
    services = page.locator("#health-table tbody th").all_inner_texts()
    assert {"object store", "database", "mlflow", "embedder"} <= set(services)
    assert web_server.database_url not in page.content()  # never a setting's value

    # the zone with its counts by state and the last hour's chart
    zone = page.locator("#zone-ingest-ops")
    assert zone.locator("[data-state=done]").inner_text() == "done 1"
    assert zone.locator("[data-state=failed]").inner_text() == "failed 1"
    chart = zone.locator("svg.chart")
    assert int(chart.get_attribute("data-total")) >= 2
    assert chart.locator("rect.bar").count() == 12
    assert "finished in the last hour" in chart.get_attribute("aria-label")

    # MLflow runs, loaded after the page, linking to the MLflow UI
    run = page.locator("#runs tbody tr", has_text="dashboard-test-run").first
    run.wait_for()
    href = run.locator("a").get_attribute("href")
    assert href.startswith(UI_URL + "/#/experiments/") and "/runs/" in href

    # the audit log, filtered
    assert page.locator("#audit tbody tr", has_text="login.success").count() >= 1
    screenshot(page, "dashboard")
    assert serious_accessibility_violations(page) == []

    # the failed file: retried from the dashboard, without a reload
    failed_id = setup["failed"]
    row = page.locator(f"#failed-{failed_id}")
    assert "no text layer" in row.inner_text()
    page.evaluate("window.__same_page = true")
    row.get_by_role("button", name="Retry").click()
    retried = row.locator(".retried")
    retried.wait_for()
    assert page.evaluate("window.__same_page") is True
    new_link = retried.get_by_role("link")
    new_id = int(new_link.inner_text().removeprefix("file #"))
    assert new_id > failed_id

    # the original file's full ledger history
    page.goto(f"/dashboard/files/{failed_id}")
    kinds = [
        k.strip() for k in page.locator("#events tbody td[data-label=Event]").all_inner_texts()
    ]
    assert kinds[0] == "detected" and "claimed" in kinds and "failed" in kinds
    assert kinds[-1] == "retried"
    assert PATENT.name in page.locator("h1").inner_text()
    assert "no text layer" in page.locator("#file-facts").inner_text()
    screenshot(page, "dashboard-file-history")
    assert serious_accessibility_violations(page) == []

    # the audit log has the retry; filters by user and since
    page.goto("/dashboard?user=ada&since=1h")
    actions = page.locator("#audit tbody td[data-label=Action]").all_inner_texts()
    assert "file.retry" in actions
    assert set(page.locator("#audit tbody td[data-label=User]").all_inner_texts()) == {"ada"}
    page.goto("/dashboard?user=nobody")
    assert page.locator("#no-audit").is_visible()
    page.get_by_label("Since").fill("not a time")
    with page.expect_navigation():
        page.get_by_role("button", name="Filter").click()
    assert "neither a duration nor a date" in page.locator("#audit-error").inner_text()


@pytest.mark.parametrize("name", ["eve", "vic"])
def test_editors_and_viewers_get_no_dashboard_link_and_the_apis_refusal(
    tab: Watched, web_server: Server, setup: dict[str, int], name: str
) -> None:
    page = tab.page
    log_in(page, name)
    assert page.get_by_role("link", name="Dashboard").count() == 0
    for where in ("/dashboard", f"/dashboard/files/{setup['failed']}", "/dashboard/health"):
        refused = page.goto(where)
        assert refused.status == 403, where
    page.goto("/dashboard")
    assert "needs the admin role" in page.locator("#error-message").inner_text()
    if name == "vic":
        screenshot(page, "dashboard-refused")
        assert serious_accessibility_violations(page) == []
    # the API gives the same refusal
    cookies = {c["name"]: c["value"] for c in tab.context.cookies()}
    csrf = page.locator("body").get_attribute("data-csrf")
    with httpx.Client(base_url=web_server.url, cookies=cookies) as client:
        assert client.get("/api/v1/audit").status_code == 403
        retry = client.post(
            f"/dashboard/files/{setup['failed']}/retry", headers={"X-CSRF-Token": csrf}
        )
        assert retry.status_code == 403


def test_mlflow_not_reachable_is_said_at_once(tmp_path: Path) -> None:
    """A dead MLflow server: the cheap probe answers first, no MLflow call waits on it."""
    from tidyllm.errors import ServiceUnavailable
    from tidyllm.session import UnifiedSessionManager
    from tidyllm.tracking.recent import recent_runs
    from tidyllm.web.pages import templates

    dead = f"http://127.0.0.1:{free_port()}"
    with UnifiedSessionManager(data_dir=tmp_path, mlflow={"tracking_uri": dead}) as sm:

        def no_client() -> None:
            raise AssertionError("an MLflow client was built for a server the probe found dead")

        sm.mlflow = no_client  # the outcome, not a time: nothing waits on MLflow's own retries
        with pytest.raises(ServiceUnavailable) as caught:
            recent_runs(sm)
    html = templates.get_template("_mlflow.html").render(
        found=None, error=str(caught.value), ui_url=None
    )
    assert "MLflow not reachable." in html and dead in html


def test_the_mlflow_ui_url_setting_takes_only_http_urls() -> None:
    from pydantic import ValidationError

    from tidyllm.settings.schema import MlflowSettings

    assert MlflowSettings(ui_url="https://mlflow.example/").ui_url == "https://mlflow.example"
    assert MlflowSettings(ui_url="").ui_url is None
    for hostile in ("javascript:alert(1)", "//evil.example", "http://a b", "data:text/html,x"):
        with pytest.raises(ValidationError):
            MlflowSettings(ui_url=hostile)


HOSTILE_NAME = (
    "<img src=x onerror=alert(1)> <svg onload=alert(2)> <script>alert(3)<.script> "
    "javascript:alert(4).pdf"
)


def test_a_failed_file_with_a_hostile_name_is_shown_as_text_on_the_dashboard_and_history(
    tab: Watched, web_server: Server, web_sm
) -> None:
    """The failures list and the history page show the name as text: no element, no
    script, no dialog (the ``tab`` fixture fails the test on any dialog or CSP report)."""
    from tidyllm.knowledge import create_domain

    create_domain(web_sm, "hostile")
    with web_server.client() as http:
        login = http.post("/api/v1/login", json={"name": "ada", "password": PASSWORD})
        assert login.status_code == 200, login.text
        http.headers["X-CSRF-Token"] = login.json()["user"]["csrf_token"]
        sent = http.post(
            "/api/v1/domains/hostile/uploads", files={"file": (HOSTILE_NAME, PATENT.read_bytes())}
        )
        assert sent.status_code == 201, sent.text
        stored = sent.json()["files"][0]
        deadline = time.monotonic() + FINAL_S
        while (state := http.get(f"/api/v1/uploads/{stored['id']}").json()["state"]) != "failed":
            assert state in ("pending", "processing"), state
            assert time.monotonic() < deadline, "the hostile file did not fail"
            time.sleep(0.3)
    name = stored["name"]
    assert "<script>" in name and "onerror=" in name  # kept as the user named it

    def nothing_ran() -> None:
        assert page.locator("img[src=x], svg[onload], [onerror], [onload]").count() == 0
        scripts = page.evaluate("[...document.scripts].map(s => s.src || s.textContent)")
        assert not [s for s in scripts if "alert" in s], scripts
        assert not [
            h
            for h in page.locator("a").evaluate_all("a => a.map(e => e.href)")
            if h.lower().startswith("javascript:")
        ]
        assert tab.dialogs == []

    page = tab.page
    log_in(page, "ada")
    page.goto("/dashboard")
    row = page.locator(f"#failed-{stored['id']}")
    link = row.locator("th a")
    assert name in link.inner_text()
    assert link.get_attribute("href") == f"/dashboard/files/{stored['id']}"
    assert "no text layer" in row.inner_text()
    nothing_ran()

    with page.expect_navigation():
        link.click()
    assert path_of(page.url) == f"/dashboard/files/{stored['id']}"
    assert name in page.locator("h1 .file-key").inner_text()
    assert page.locator("#events tbody tr[data-kind=failed]").count() == 1
    nothing_ran()
    page.wait_for_timeout(500)  # an onerror or onload handler would have run by now
    assert tab.dialogs == []
