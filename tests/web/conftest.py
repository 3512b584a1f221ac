"""The web UI in a real browser: Debian's chromium driven by Playwright, against a real
``tidyllm serve`` process (tests/server/server_helpers) on a fresh database per module.

Playwright's own browser download is not reachable here, so the tests launch the
system's ``/usr/bin/chromium`` (``.ci/run`` installs it); without it they fail, loudly.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "server"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "extraction"))  # raw_pdf

from server_helpers import Server, session_manager
from web_helpers import CHROMIUM, CHROMIUM_ARGS, Watched


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """One headless chromium for the whole session (a fresh context per test)."""
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"{CHROMIUM} is missing: the web UI tests drive Debian's chromium package. "
            "Install it with `apt-get install -y chromium` (.ci/run does this in CI)."
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="module")
def web_sm(web_server: Server):
    """A session manager in the test process on the server's database (users, domains)."""
    with session_manager(web_server) as sm:
        yield sm


@pytest.fixture
def tab(browser, web_server: Server, setup) -> Iterator[Watched]:
    """A fresh watched page on the module's server after its ``setup``; nothing hostile ran
    (no dialog) and nothing broke the Content Security Policy."""
    watched = Watched(browser, web_server.url)
    yield watched
    watched.close()
    assert not watched.dialogs, watched.dialogs
    assert not watched.csp_violations(), watched.csp_violations()
