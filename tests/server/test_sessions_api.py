"""Browser sessions over a real ``tidyllm serve``: cookie, CSRF, logout, expiry, throttling.

Failed logins are throttled per client address, so each test that fails logins speaks
from its own loopback address (127.0.0.N): one test's failures never throttle another.
"""

from __future__ import annotations

import hashlib
import itertools
import time
from collections.abc import Iterator

import httpx
import pytest
from server_helpers import Server, error_of, start_server, stop_server

from tidyllm.access import add_user, create_token

PASSWORD = "correct horse battery staple"
COOKIE = "tidyllm_session"
_addresses = itertools.count(10)


def browser(server: Server, session: str | None = None, **headers: str) -> httpx.Client:
    """A client from a fresh loopback address, sending ``session`` as the cookie."""
    if session:
        headers["Cookie"] = f"{COOKIE}={session}"
    transport = httpx.HTTPTransport(local_address=f"127.0.0.{next(_addresses)}")
    return httpx.Client(base_url=server.url, headers=headers, transport=transport, timeout=120)


def log_in(server: Server, name: str, password: str = PASSWORD) -> tuple[str, str]:
    """(session id, CSRF token) of a fresh login."""
    with browser(server) as http:
        response = http.post("/api/v1/login", json={"name": name, "password": password})
    assert response.status_code == 200, response.text
    return response.cookies[COOKIE], response.json()["user"]["csrf_token"]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, module_database: str) -> Iterator[Server]:
    """The module's server trusts forwarded headers from 127.0.0.1 only (a local TLS proxy)."""
    running = start_server(
        tmp_path_factory.mktemp("serve"),
        module_database,
        "--no-worker",
        "--forwarded-allow-ips",
        "127.0.0.1",
    )
    try:
        yield running
    finally:
        stop_server(running)


@pytest.fixture(scope="module")
def users(server_sm) -> dict[str, str]:
    """Users of each role (and their tokens); 'thr', 'pat' and 'okuser' are for throttling."""
    tokens = {}
    for name, role in (("ada", "admin"), ("eve", "editor"), ("vic", "viewer")):
        add_user(server_sm, name, role, PASSWORD)
        tokens[name] = create_token(server_sm, name, "test").secret
    for name in ("thr", "pat", "okuser", "nul-target"):
        add_user(server_sm, name, "viewer", PASSWORD)
    return tokens


def test_login_sets_a_safe_cookie_and_returns_the_user_and_csrf_token(server, server_sm, users):
    with browser(server) as http:
        response = http.post("/api/v1/login", json={"name": "vic", "password": PASSWORD})
    assert response.status_code == 200, response.text
    cookie = response.headers["set-cookie"]
    attributes = {part.strip().lower() for part in cookie.split(";")}
    assert {"httponly", "samesite=lax", "path=/", "max-age=43200"} <= attributes, cookie
    assert "secure" not in attributes  # plain HTTP here; Secure when the request is HTTPS
    body = response.json()
    assert body["user"]["name"] == "vic" and body["user"]["role"] == "viewer"
    assert body["user"]["auth"] == "session" and len(body["user"]["csrf_token"]) == 43
    session = response.cookies[COOKIE]
    assert session not in response.text  # only in Set-Cookie
    with server_sm.connection() as conn:
        stored = [r[0] for r in conn.execute("SELECT session_sha256 FROM web_sessions")]
    assert hashlib.sha256(session.encode()).hexdigest() in stored
    assert session not in stored  # the id itself is not stored
    with browser(server, session) as http:
        me = http.get("/api/v1/me").json()
        assert me == body["user"]  # the CSRF token again, after a page reload
        assert http.get("/api/v1/domains").status_code == 200


def test_logout_stops_the_session_on_the_next_request(server, users):
    session, csrf = log_in(server, "vic")
    with browser(server, session) as http:
        refused = http.post("/api/v1/logout")  # logout changes state: CSRF needed too
        assert refused.status_code == 403 and error_of(refused)["code"] == "csrf_rejected"
        assert http.get("/api/v1/me").status_code == 200
        out = http.post("/api/v1/logout", headers={"X-CSRF-Token": csrf})
        assert out.status_code == 204
        assert (
            f"{COOKIE}=" in out.headers["set-cookie"] and "Max-Age=0" in out.headers["set-cookie"]
        )
    with browser(server, session) as http:  # the old cookie, sent again
        for response in (http.get("/api/v1/me"), http.get("/api/v1/domains")):
            assert response.status_code == 401 and error_of(response)["code"] == "auth_error"
        again = http.post("/api/v1/logout", headers={"X-CSRF-Token": csrf})
        assert again.status_code == 401


def test_an_expired_session_is_refused(server, server_sm, users):
    session, _ = log_in(server, "vic")
    sha = hashlib.sha256(session.encode()).hexdigest()
    with server_sm.connection() as conn:  # the clock moves past the expiry
        conn.execute(
            "UPDATE web_sessions SET expires_at = now() - interval '1 second' "
            "WHERE session_sha256 = %s",
            (sha,),
        )
    with browser(server, session) as http:
        response = http.get("/api/v1/me")
    assert response.status_code == 401 and error_of(response)["code"] == "auth_error"


def test_the_session_lifetime_setting_ends_a_session(
    tmp_path, module_database, monkeypatch, server, users
):
    monkeypatch.setenv("TIDYLLM_SERVER__SESSION_HOURS", "0.0005")  # 1.8 seconds
    short = start_server(tmp_path, module_database, "--no-worker")
    try:
        with browser(short) as http:
            response = http.post("/api/v1/login", json={"name": "vic", "password": PASSWORD})
        assert response.status_code == 200, response.text
        assert "Max-Age=1" in response.headers["set-cookie"]
        session = response.cookies[COOKIE]
        with browser(short, session) as http:
            assert http.get("/api/v1/me").status_code in (200, 401)  # may already be over
            deadline = time.monotonic() + 240  # the session ends after 1.8 s of clock time
            while http.get("/api/v1/me").status_code == 200:
                assert time.monotonic() < deadline, "the session never expired"
                time.sleep(0.5)
            assert http.get("/api/v1/me").status_code == 401
    finally:
        assert stop_server(short) == 0


def test_cookie_requests_that_change_state_need_the_csrf_token(server, server_sm, users):
    session, csrf = log_in(server, "ada")
    _, other_csrf = log_in(server, "ada")
    with browser(server, session) as http:
        assert http.get("/api/v1/domains").status_code == 200  # reading needs none
        for headers in (
            {},
            {"X-CSRF-Token": "x" * 43},
            {"X-CSRF-Token": other_csrf},
            {"X-CSRF-Token": csrf[:-1]},
            {"X-CSRF-Token": ("é" * 43).encode()},
        ):
            refused = http.post("/api/v1/domains", json={"name": "csrf-made"}, headers=headers)
            assert refused.status_code == 403, (headers, refused.text)
            assert error_of(refused)["code"] == "csrf_rejected"
        assert http.get("/api/v1/domains/csrf-made").status_code == 404  # nothing was made
        made = http.post(
            "/api/v1/domains", json={"name": "csrf-made"}, headers={"X-CSRF-Token": csrf}
        )
        assert made.status_code == 201, made.text
        assert http.delete("/api/v1/domains/csrf-made").status_code == 403
        gone = http.delete("/api/v1/domains/csrf-made", headers={"X-CSRF-Token": csrf})
        assert gone.status_code == 204


def test_bearer_requests_need_no_csrf_token(server, users):
    with server.client(users["ada"]) as http:
        assert http.post("/api/v1/domains", json={"name": "by-token"}).status_code == 201
        assert http.delete("/api/v1/domains/by-token").status_code == 204
        assert http.get("/api/v1/me").json() == {
            "name": "ada",
            "role": "admin",
            "auth": "token",
            "csrf_token": None,
        }


def test_a_wrong_bearer_token_does_not_fall_back_to_the_cookie(server, users):
    session, _ = log_in(server, "vic")
    with browser(server, session, Authorization="Bearer tidyllm_" + "A" * 43) as http:
        assert http.get("/api/v1/me").status_code == 401


def test_a_disabled_user_s_session_stops_working(server, server_sm, users):
    from tidyllm.access import set_disabled

    add_user(server_sm, "dora", "viewer", PASSWORD)
    session, _ = log_in(server, "dora")
    set_disabled(server_sm, "dora", True)
    with browser(server, session) as http:
        assert http.get("/api/v1/me").status_code == 401


def _attempts(server: Server, name: str, passwords: list[str]) -> list[httpx.Response]:
    with browser(server) as http:
        return [http.post("/api/v1/login", json={"name": name, "password": pw}) for pw in passwords]


def test_the_6th_wrong_password_within_a_minute_is_throttled_and_says_nothing_of_the_user(
    server, server_sm, users
):
    wrong = [f"wrong password {i}" for i in range(6)]
    real = _attempts(server, "thr", [*wrong, PASSWORD])
    ghost = _attempts(server, "ghost", [*wrong, PASSWORD])  # no such user
    for answers in (real, ghost):
        assert [r.status_code for r in answers] == [401] * 5 + [429, 429], [
            r.text for r in answers
        ]  # the right password is refused too while throttled
        assert answers[5].headers["retry-after"] == "60"
        assert error_of(answers[5])["code"] == "too_many_attempts"
    for a, b in zip(real, ghost, strict=True):  # an existing user cannot be told apart
        assert a.status_code == b.status_code and a.json() == b.json()
        assert COOKIE not in a.headers.get("set-cookie", "")
    with server_sm.connection() as conn:
        actions = [
            r[0]
            for r in conn.execute(
                "SELECT action FROM audit_events WHERE target = 'user:thr' "
                "AND action LIKE 'login.%' ORDER BY id"
            )
        ]
    assert actions == ["login.failure"] * 5 + ["login.throttled"] * 2


def test_failures_from_one_address_throttle_every_name_from_it(server, users):
    with browser(server) as http:
        for i in range(5):
            failed = http.post("/api/v1/login", json={"name": f"nobody{i}", "password": "x"})
            assert failed.status_code == 401
        refused = http.post("/api/v1/login", json={"name": "pat", "password": PASSWORD})
        assert refused.status_code == 429
    with browser(server) as http:  # another address, the same user: fine
        assert (
            http.post("/api/v1/login", json={"name": "pat", "password": PASSWORD}).status_code
            == 200
        )


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"name": "vic"},
        {"password": PASSWORD},
        {"name": 1, "password": 2},
        {"name": ["vic"], "password": PASSWORD},
        {"name": "vic", "password": PASSWORD, "role": "admin"},
        {"name": "", "password": PASSWORD},
        {"name": "vic", "password": ""},
        {"name": "v" * 1_000_000, "password": PASSWORD},
        {"name": "vic", "password": "p" * 1025},
        [1, 2],
        "vic",
        None,
    ],
)
def test_hostile_login_bodies_are_422_not_500(server, users, payload):
    with browser(server) as http:
        response = http.post("/api/v1/login", json=payload)
        assert response.status_code == 422, response.text
        assert error_of(response)["code"] == "invalid_request"
        assert COOKIE not in response.headers.get("set-cookie", "")
        assert http.get("/healthz").status_code == 200


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b'{"name": "vic", "password": "unterminated', "application/json"),
        (b"\xff\xfe\x00garbage", "application/json"),
        (b'{"name": "vic", "password": "\\ud800"}', "application/json"),  # lone surrogate
        (b'{"name": "\\udfff", "password": "x"}', "application/json"),
        (b"name=vic&password=x", "application/x-www-form-urlencoded"),  # a cross-site form
        (f'{{"name": "vic", "password": "{PASSWORD}"}}'.encode(), "text/plain"),
    ],
)
def test_non_json_login_bodies_are_refused_without_a_session(server, users, content, content_type):
    with browser(server) as http:
        response = http.post(
            "/api/v1/login", content=content, headers={"content-type": content_type}
        )
    assert response.status_code in (400, 422), response.text
    assert error_of(response)["message"]
    assert COOKIE not in response.headers.get("set-cookie", "")


@pytest.mark.parametrize(
    "payload",
    [
        {"name": "nul-target\x00", "password": PASSWORD},
        {"name": "nul-target", "password": PASSWORD + "\x00"},
        {"name": "nul-target", "password": "\x00" * 1024},
        {"name": "\u202enul-target", "password": PASSWORD},
    ],
)
def test_nul_and_control_characters_are_a_plain_401(server, users, payload):
    with browser(server) as http:
        response = http.post("/api/v1/login", json=payload)
        assert response.status_code == 401, response.text
        assert error_of(response)["message"] == "invalid user name or password"


def test_the_cookie_is_secure_when_the_request_came_over_https(server, users):
    """With --forwarded-allow-ips 127.0.0.1, X-Forwarded-Proto from there is trusted: the
    request is then HTTPS to the app, and the cookie must not travel over plain HTTP."""
    with server.client() as http:  # from 127.0.0.1, like a local TLS proxy
        response = http.post(
            "/api/v1/login",
            json={"name": "okuser", "password": PASSWORD},
            headers={"X-Forwarded-Proto": "https"},
        )
    assert response.status_code == 200, response.text
    attributes = {p.strip().lower() for p in response.headers["set-cookie"].split(";")}
    assert {"secure", "httponly", "samesite=lax"} <= attributes
