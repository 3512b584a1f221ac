"""Token self-service, the audit route and ``/metrics`` over a real ``tidyllm serve``; and
no password, session id or token in the server's log or in any response but its own."""

from __future__ import annotations

import itertools

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from server_helpers import Server, error_of

from tidyllm.access import add_grant, add_user, create_token
from tidyllm.extraction import ExtractedDocument, Page
from tidyllm.knowledge import create_domain
from tidyllm.knowledge.indexing import index_document

PASSWORD = "correct horse battery staple"
WRONG = "Wrong-Canary-Password-4711"
COOKIE = "tidyllm_session"
TEXT = "The Federal Reserve fieldwork ended in March 2015 after a review of model validation."
_addresses = itertools.count(10)
SECRETS: list[str] = []  # everything secret this module saw, for the log check at the end


def browser(server: Server, session: str | None = None, **headers: str) -> httpx.Client:
    if session:
        headers["Cookie"] = f"{COOKIE}={session}"
    transport = httpx.HTTPTransport(local_address=f"127.0.0.{next(_addresses)}")
    return httpx.Client(base_url=server.url, headers=headers, transport=transport, timeout=120)


def log_in(server: Server, name: str) -> tuple[str, str]:
    with browser(server) as http:
        response = http.post("/api/v1/login", json={"name": name, "password": PASSWORD})
    assert response.status_code == 200, response.text
    session, csrf = response.cookies[COOKIE], response.json()["user"]["csrf_token"]
    SECRETS.extend([session, csrf])
    return session, csrf


@pytest.fixture(scope="module")
def users(server_sm) -> dict[str, str]:
    tokens = {}
    for name, role in (("ada", "admin"), ("vic", "viewer")):
        add_user(server_sm, name, role, PASSWORD)
        tokens[name] = create_token(server_sm, name, "test").secret
    SECRETS.extend([PASSWORD, *tokens.values()])
    create_domain(server_sm, "fed")
    index_document(
        server_sm,
        domain="fed",
        document=ExtractedDocument(mime="text/plain", pages=(Page(1, TEXT),)),
        source_uri="mem://fed.txt",
        version="1",
        content_hash="fed",
        title="Fed report",
    )
    add_grant(server_sm, "fed", user="vic", role="viewer")
    return tokens


def scrape(server: Server, token: str) -> dict[tuple[str, tuple], float]:
    """``/metrics`` parsed: (sample name, sorted labels) -> value."""
    with server.client(token) as http:
        response = http.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }


def requests_of(samples: dict, route: str, status: str, method: str = "GET") -> float:
    key = (
        "tidyllm_http_requests_total",
        (("method", method), ("route", route), ("status", status)),
    )
    return samples.get(key, 0.0)


# --- tokens -------------------------------------------------------------------------------


def test_a_user_creates_lists_and_revokes_their_own_token(server, users):
    session, csrf = log_in(server, "vic")
    with browser(server, session, **{"X-CSRF-Token": csrf}) as http:
        created = http.post("/api/v1/tokens", json={"name": "laptop", "expires": "30d"})
        assert created.status_code == 201, created.text
        secret, info = created.json()["token"], created.json()["info"]
        SECRETS.append(secret)
        assert info["user"] == "vic" and info["expires_at"] and info["revoked_at"] is None
        listed = http.get("/api/v1/tokens")
        assert listed.status_code == 200 and secret not in listed.text
        assert {t["user"] for t in listed.json()} == {"vic"}  # only their own
        assert info["id"] in [t["id"] for t in listed.json()]
    with server.client(secret) as http:
        assert http.get("/api/v1/me").json()["name"] == "vic"
    with browser(server, session, **{"X-CSRF-Token": csrf}) as http:
        revoked = http.delete(f"/api/v1/tokens/{info['id']}")
        assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    with server.client(secret) as http:  # the next request
        refused = http.get("/api/v1/me")
        assert refused.status_code == 401 and error_of(refused)["code"] == "auth_error"


def test_token_routes_refuse_what_is_not_yours_and_bad_input(server, users):
    with server.client(users["ada"]) as http:
        admin_token = http.post("/api/v1/tokens", json={"name": "ops"}).json()
        SECRETS.append(admin_token["token"])
        assert admin_token["info"]["expires_at"] is None
    with server.client(users["vic"]) as http:
        theirs = http.delete(f"/api/v1/tokens/{admin_token['info']['id']}")
        assert theirs.status_code == 404 and error_of(theirs)["code"] == "not_found"
        missing = http.delete("/api/v1/tokens/999999")
        assert missing.status_code == 404  # someone else's token answers like a missing one
        a, b = error_of(theirs), error_of(missing)
        assert (a["code"], a["hint"]) == (b["code"], b["hint"])
        assert a["message"].replace(str(admin_token["info"]["id"]), "N") == b["message"].replace(
            "999999", "N"
        )
        for path in ("/api/v1/tokens/0", f"/api/v1/tokens/{2**70}", "/api/v1/tokens/x"):
            assert http.delete(path).status_code == 422, path
        for body in (
            {"name": ""},
            {"name": "n" * 101},
            {"name": "ok", "expires": "forever"},
            {"name": "ok", "expires": "0m"},
            {"name": "bad\u202ename"},
            {"name": "ok", "user": "ada"},
        ):
            response = http.post("/api/v1/tokens", json=body)
            assert response.status_code in (400, 422), (body, response.text)
            assert error_of(response)["message"]
    with server.client(admin_token["token"]) as http:
        assert http.get("/api/v1/me").status_code == 200  # the viewer did not revoke it
    with server.client(users["ada"]) as http:  # an admin may revoke anyone's
        mine = http.post("/api/v1/tokens", json={"name": "x"}).json()
        SECRETS.append(mine["token"])
        assert http.delete(f"/api/v1/tokens/{mine['info']['id']}").status_code == 200


# --- audit --------------------------------------------------------------------------------


def test_the_audit_route_is_admin_only_and_shows_logins(server, users):
    log_in(server, "vic")
    with browser(server) as http:
        failed = http.post("/api/v1/login", json={"name": "vic", "password": WRONG})
        assert failed.status_code == 401
    session, _ = log_in(server, "vic")
    with browser(server, session) as http:
        assert http.get("/api/v1/audit").status_code == 403  # a viewer, by cookie
    with server.client(users["vic"]) as http:
        refused = http.get("/api/v1/audit")
        assert refused.status_code == 403 and error_of(refused)["code"] == "permission_denied"
    with server.client() as http:
        assert http.get("/api/v1/audit").status_code == 401
    with server.client(users["ada"]) as http:
        response = http.get("/api/v1/audit", params={"user": "vic", "since": "1h"})
        assert response.status_code == 200, response.text
        events = response.json()
        actions = [e["action"] for e in events]
        assert "login.success" in actions and "login.failure" in actions
        assert {e["actor_name"] for e in events} == {"vic"}
        assert all(
            e["client"] and e["client"].startswith("127.0.0.")
            for e in events
            if e["action"].startswith("login.")
        )
        assert WRONG not in response.text and PASSWORD not in response.text
        newest = http.get("/api/v1/audit", params={"limit": 1}).json()
        assert len(newest) == 1 and newest[0]["id"] >= max(e["id"] for e in events)
        for params in ({"since": "yesterday"}, {"since": "99999999d"}):
            bad = http.get("/api/v1/audit", params=params)
            assert bad.status_code == 400 and error_of(bad)["hint"], params
        for params in ({"limit": 0}, {"limit": 10001}, {"limit": "x"}, {"user": "u" * 101}):
            assert http.get("/api/v1/audit", params=params).status_code == 422, params
        assert http.get("/api/v1/audit", params={"user": "nobody\x00"}).json() == []


def test_token_creation_and_revocation_over_http_are_audited(server, users):
    with server.client(users["vic"]) as http:
        made = http.post("/api/v1/tokens", json={"name": "audited"}).json()
        SECRETS.append(made["token"])
        http.delete(f"/api/v1/tokens/{made['info']['id']}")
    with server.client(users["ada"]) as http:
        events = http.get("/api/v1/audit", params={"user": "vic"}).json()
    target = f"token:{made['info']['id']}"
    assert [e["action"] for e in events if e["target"] == target] == [
        "token.create",
        "token.revoke",
    ]


# --- metrics ------------------------------------------------------------------------------


def test_metrics_need_an_admin(server, users):
    with server.client() as http:
        assert http.get("/metrics").status_code == 401
    with server.client(users["vic"]) as http:
        refused = http.get("/metrics")
        assert refused.status_code == 403 and error_of(refused)["code"] == "permission_denied"
    session, _ = log_in(server, "ada")
    with browser(server, session) as http:  # a GET: no CSRF token needed
        assert http.get("/metrics").status_code == 200


def test_metrics_parse_and_count_the_requests_made(server, users):
    before = scrape(server, users["ada"])
    with server.client(users["vic"]) as http:
        for _ in range(3):
            assert http.get("/api/v1/domains/fed").status_code == 200
        assert http.get("/api/v1/domains/nope").status_code == 404
        for path in ("/no/such/thing", "/../../etc/passwd", "/x%00y"):
            http.get(path)
        asked = http.post("/api/v1/domains/fed/ask", json={"question": "When did fieldwork end?"})
        assert asked.status_code == 200, asked.text
    after = scrape(server, users["ada"])
    route = "/api/v1/domains/{name}"
    assert requests_of(after, route, "200") - requests_of(before, route, "200") == 3
    assert requests_of(after, route, "404") - requests_of(before, route, "404") == 1
    assert requests_of(after, "unmatched", "404") - requests_of(before, "unmatched", "404") >= 3
    labels = {dict(k[1]).get("route") for k in after}
    assert not any(label and ("passwd" in label or "no/such" in label) for label in labels)
    latency = ("tidyllm_http_request_duration_seconds_count", (("method", "GET"), ("route", route)))
    assert after[latency] - before.get(latency, 0) == 4  # by route, whatever the status
    ask = ("tidyllm_ask_duration_seconds_count", ())
    assert after[ask] - before.get(ask, 0) == 1
    assert after[("tidyllm_ledger_up", ())] == 1


def test_metrics_report_the_ledger_by_zone_and_state(server, server_sm, users):
    rows = [  # state, due in (an interval), processing took (None: not finished)
        ("pending", "-1 minute", None),
        ("pending", "-1 minute", None),
        ("pending", "1 hour", None),  # backing off: not due
        ("done", "0 seconds", "3 seconds"),
        ("failed", "0 seconds", "2 hours"),
    ]
    with server_sm.connection() as conn:
        for i, (state, due_in, took) in enumerate(rows):
            conn.execute(
                "INSERT INTO files (zone, key, key_bytes, fingerprint, size, pipeline, "
                "pipeline_version, max_attempts, state, not_before, started_at, finished_at) "
                "VALUES ('metrics-zone', %s, %s, %s, 1, 'extract', '1', 5, %s, "
                "now() + %s::interval, now() - %s::interval, "
                "CASE WHEN %s::interval IS NOT NULL THEN now() END)",
                (f"k{i}", f"k{i}".encode(), f"f{i}", state, due_in, took, took),
            )
    samples = scrape(server, users["ada"])
    zone = ("zone", "metrics-zone")

    def files(state: str) -> float:
        return samples.get(("tidyllm_files", (("state", state), zone)), 0.0)

    assert (files("pending"), files("done"), files("failed")) == (3, 1, 1)
    assert samples[("tidyllm_queue_depth", (zone,))] == 2
    processing = "tidyllm_processing_duration_seconds"
    assert samples[(f"{processing}_count", (zone,))] == 2
    assert samples[(f"{processing}_bucket", (("le", "5.0"), zone))] == 1
    assert samples[(f"{processing}_bucket", (("le", "+Inf"), zone))] == 2
    assert samples[(f"{processing}_sum", (zone,))] >= 7200


# --- secrets ------------------------------------------------------------------------------


def test_no_secret_in_the_server_log_or_in_responses_that_do_not_issue_it(server, users):
    """Runs last in this module: every password, session id, CSRF token and token used
    above must be absent from the server's log file and from the routes that list things."""
    with browser(server) as http:
        http.post("/api/v1/login", json={"name": WRONG, "password": WRONG})  # a misplaced secret
    with server.client(users["ada"]) as http:
        listings = [
            http.get(path).text
            for path in ("/api/v1/audit", "/api/v1/tokens", "/metrics", "/api/v1/me")
        ]
    for text in listings:
        for secret in [*SECRETS, WRONG]:
            assert secret not in text, "a secret in a response that did not issue it"
    log = server.log.read_text(errors="replace")
    assert "/api/v1/login" in log  # the log is the real one
    assert len(SECRETS) >= 8
    for secret in [*SECRETS, WRONG]:
        assert secret not in log, "a secret reached the server log"
