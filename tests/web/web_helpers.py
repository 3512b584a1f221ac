"""Shared steps of the browser tests: the users and domains they set up, log in, watch
for dialogs and CSP violations, screenshots at both widths, and the axe-core accessibility
check."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import Any

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
WIDTHS = {"wide": (1280, 900), "narrow": (390, 844)}
PASSWORD = "correct horse battery staple"
WAIT_MS = 60_000  # a busy CI machine runs the whole suite twice at once
FINAL_MS = 240_000  # extraction and embedding on a machine running the suite twice


def warm_up(server: Any, domain: str, user: str = "eve") -> None:
    """One file through the server's upload route and worker before the browser tests.

    The drop zones load their pipeline steps on first use, and two threads doing that at
    once could find the registry still empty; these tests are about the pages, so the
    server has done it once before they start. ``user`` edits ``domain``.
    """
    with server.client() as http:
        login = http.post("/api/v1/login", json={"name": user, "password": PASSWORD})
        assert login.status_code == 200, login.text
        http.headers["X-CSRF-Token"] = login.json()["user"]["csrf_token"]
        sent = http.post(
            f"/api/v1/domains/{domain}/uploads", files={"file": ("warm-up.txt", b"Warm up.\n")}
        )
        assert sent.status_code == 201, sent.text
        file_id = sent.json()["files"][0]["id"]
        deadline = time.monotonic() + FINAL_MS / 1000
        while (state := http.get(f"/api/v1/uploads/{file_id}").json()["state"]) != "done":
            assert state in ("pending", "processing"), state
            assert time.monotonic() < deadline, "the warm-up upload was not processed"
            time.sleep(0.3)


def add_team(sm: Any, domain: str, *others: str) -> None:
    """ada (admin), eve (editor of ``domain``) and vic (viewer of it), all with
    ``PASSWORD``; the ``others`` domains are created too, granted to nobody."""
    from tidyllm.access import add_grant, add_user
    from tidyllm.knowledge import create_domain

    for name, role in (("ada", "admin"), ("eve", "editor"), ("vic", "viewer")):
        add_user(sm, name, role, PASSWORD)
    for name in (domain, *others):
        create_domain(sm, name)
    add_grant(sm, domain, user="eve", role="editor")
    add_grant(sm, domain, user="vic", role="viewer")


class Watched:
    """A browser context and page whose dialogs, console errors and failed requests are
    recorded: a test asserts on them at the end (an XSS would open a dialog)."""

    def __init__(self, browser: Any, base_url: str, width: str = "wide") -> None:
        w, h = WIDTHS[width]
        self.context = browser.new_context(
            base_url=base_url, viewport={"width": w, "height": h}, accept_downloads=True
        )
        self.context.set_default_timeout(WAIT_MS)
        self.page = self.context.new_page()
        self.dialogs: list[str] = []
        self.console_errors: list[str] = []
        self.page.on("dialog", self._dialog)
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda exc: self.console_errors.append(f"pageerror: {exc}"))
        self.confirm_next = False

    def _dialog(self, dialog: Any) -> None:
        if dialog.type == "confirm" and self.confirm_next:
            self.confirm_next = False
            dialog.accept()
            return
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def _console(self, message: Any) -> None:
        if message.type == "error":
            self.console_errors.append(message.text)

    def csp_violations(self) -> list[str]:
        return [m for m in self.console_errors if "Content Security Policy" in m]

    def close(self) -> None:
        self.context.close()


def log_in(page: Any, name: str, password: str = PASSWORD, next_path: str = "") -> None:
    """Fill and send the log-in form (the page must be the log-in page or go there)."""
    if "/login" not in page.url:
        page.goto("/login" + (f"?next={next_path}" if next_path else ""))
    page.get_by_label("User name").fill(name)
    page.get_by_label("Password").fill(password)
    with page.expect_navigation():
        page.get_by_role("button", name="Log in").click()


def screenshot(page: Any, name: str) -> None:
    """The page now, at both widths, under tests/web/artifacts/ (written atomically:
    two CI runs of the suite may write the same names at once)."""
    ARTIFACTS.mkdir(exist_ok=True)
    original = page.viewport_size
    for label, (w, h) in WIDTHS.items():
        page.set_viewport_size({"width": w, "height": h})
        data = page.screenshot(full_page=True)
        target = ARTIFACTS / f"{name}-{label}.png"
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        tmp.write_bytes(data)
        tmp.replace(target)
    page.set_viewport_size(original)


def serious_accessibility_violations(page: Any) -> list[str]:
    """axe-core's serious and critical violations on the page as it is now."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    found = results.response.get("violations", [])
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at "
        + ", ".join(str(n.get("target")) for n in v.get("nodes", [])[:3])
        for v in found
        if v.get("impact") in ("serious", "critical")
    ]


def path_of(url: str) -> str:
    """``/x?y`` of a full URL."""
    return re.sub(r"^https?://[^/]+", "", url)
