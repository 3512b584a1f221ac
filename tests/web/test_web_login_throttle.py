"""Failed log-ins on the log-in page are throttled like the API's: the 6th within a minute
from one address is refused with a clear message, even with the right password."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from server_helpers import Server, serving
from web_helpers import PASSWORD, Watched, log_in, path_of

from tidyllm.access import add_user


@pytest.fixture(scope="module")
def web_server(tmp_path_factory: pytest.TempPathFactory, module_database: str) -> Iterator[Server]:
    """Its own server and database: throttling counts every failure from 127.0.0.1."""
    with serving(
        tmp_path_factory.mktemp("web-throttle"), module_database, "--no-worker"
    ) as running:
        yield running


def test_the_sixth_failed_log_in_within_a_minute_is_throttled(browser, web_server, web_sm):
    add_user(web_sm, "tom", "viewer", PASSWORD)
    tab = Watched(browser, web_server.url)
    try:
        page = tab.page
        page.goto("/login")
        for _ in range(5):
            log_in(page, "tom", "wrong password")
            assert "Wrong user name or password." in page.get_by_role("alert").inner_text()
        response = page.goto("/login")
        assert response.status == 200
        page.get_by_label("User name").fill("tom")
        page.get_by_label("Password").fill(PASSWORD)  # right, but too late
        with page.expect_navigation() as sent:
            page.get_by_role("button", name="Log in").click()
        assert sent.value.status == 429
        alert = page.get_by_role("alert").inner_text()
        assert "Too many failed log-ins" in alert and "Wait 60 seconds" in alert
        assert path_of(page.url).startswith("/login")
        assert not [c for c in tab.context.cookies() if c["name"] == "tidyllm_session"]
    finally:
        tab.close()
    assert not tab.dialogs and not tab.csp_violations()
