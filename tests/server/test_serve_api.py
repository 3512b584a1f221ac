"""The REST API over a real ``tidyllm serve`` process: health, auth, grants, errors, headers."""

from __future__ import annotations

import pytest
from server_helpers import error_of, index_pages

from tidyllm.access import Actor, add_grant, add_user, create_token, revoke_token

PASSWORD = "correct horse battery staple"
TEXT = (
    "The Federal Reserve selected the Federal Reserve Bank of Boston to lead model "
    "validation. Our fieldwork ended in March 2015."
)


@pytest.fixture(scope="module")
def tokens(server_sm) -> dict[str, str]:
    """An admin, an editor and a viewer, each with a token; domain 'granted' has content."""
    out = {}
    for name, role in (("ada", "admin"), ("eve", "editor"), ("vic", "viewer")):
        add_user(server_sm, name, role, PASSWORD)
        out[name] = create_token(server_sm, name, "test").secret
    for name in ("granted", "secret"):
        index_pages(server_sm, name, [TEXT])
    for user in ("eve", "vic"):
        add_grant(server_sm, "granted", user=user, role="viewer")
    return out


def test_healthz_needs_no_token_and_every_response_has_the_security_headers(server):
    with server.client() as http:
        for path in ("/healthz", "/api/v1/domains", "/no/such/route"):
            response = http.get(path)
            csp = response.headers["content-security-policy"]
            assert "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp, path
            assert response.headers["x-content-type-options"] == "nosniff"
            assert response.headers["referrer-policy"]
        assert http.get("/healthz").json() == {"status": "ok"}


def test_readyz_reports_each_service_and_no_setting(server):
    with server.client() as http:
        response = http.get("/readyz")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["ready"] is True
    for service in ("database", "object store", "embedder"):
        assert body["services"][service] == "ok", body
    assert server.database_url not in response.text
    assert str(server.data_dir) not in response.text


def test_missing_unknown_and_revoked_tokens_are_one_and_the_same_401(server, server_sm, tokens):
    add_user(server_sm, "temp", "viewer", PASSWORD)
    temp = create_token(server_sm, "temp", "soon revoked")
    revoke_token(server_sm, temp.info.id)
    bodies = []
    for token in (None, "not-a-token", "tidyllm_" + "A" * 43, temp.secret):
        with server.client(token) as http:
            response = http.get("/api/v1/domains")
        assert response.status_code == 401, response.text
        bodies.append(error_of(response)["code"])
    assert set(bodies) == {"auth_error"}


def test_a_domain_not_granted_answers_exactly_like_a_missing_one(server, tokens):
    with server.client(tokens["vic"]) as http:
        listed = [d["name"] for d in http.get("/api/v1/domains").json()]
        assert listed == ["granted"]
        secret = http.get("/api/v1/domains/secret")
        missing = http.get("/api/v1/domains/secreu")
        assert secret.status_code == missing.status_code == 404
        a, b = error_of(secret), error_of(missing)
        assert a["code"] == b["code"] == "domain_not_found"
        assert a["message"].replace("secret", "X") == b["message"].replace("secreu", "X")
        assert "secret" not in b["message"] and "secret" not in b["hint"]  # no did-you-mean leak
        for path in ("search", "ask"):
            body = {"query": "fieldwork"} if path == "search" else {"question": "fieldwork?"}
            hidden = http.post(f"/api/v1/domains/secret/{path}", json=body)
            assert hidden.status_code == 404 and error_of(hidden)["code"] == "domain_not_found"


def test_roles_decide_what_a_granted_user_may_do(server, tokens):
    with server.client(tokens["vic"]) as http:
        assert http.get("/api/v1/domains/granted").status_code == 200
        assert http.delete("/api/v1/domains/granted").status_code == 403
        assert http.post("/api/v1/domains", json={"name": "mine"}).status_code == 403
    with server.client(tokens["ada"]) as http:
        created = http.post("/api/v1/domains", json={"name": "made-by-api"})
        assert created.status_code == 201, created.text
        assert created.json()["documents"] == 0
        assert http.post("/api/v1/domains", json={"name": "made-by-api"}).status_code == 409
        assert {d["name"] for d in http.get("/api/v1/domains").json()} >= {"granted", "secret"}
        assert http.delete("/api/v1/domains/made-by-api").status_code == 204
        assert http.get("/api/v1/domains/made-by-api").status_code == 404


def test_search_and_ask_with_citations_for_a_granted_viewer(server, tokens):
    with server.client(tokens["vic"]) as http:
        found = http.post("/api/v1/domains/granted/search", json={"query": "fieldwork", "k": 3})
        assert found.status_code == 200, found.text
        hits = found.json()["hits"]
        assert hits and hits[0]["source_uri"] == "mem://granted.txt" and hits[0]["page"] == 1
        asked = http.post(
            "/api/v1/domains/granted/ask", json={"question": "When did the fieldwork end?"}
        )
    assert asked.status_code == 200, asked.text
    answer = asked.json()
    assert answer["found"] is True
    assert "March 2015" in answer["text"]
    assert answer["citations"][0]["source_uri"] == "mem://granted.txt"
    assert answer["citations"][0]["page"] == 1


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"query": ""},
        {"query": "x", "k": 0},
        {"query": "x", "k": 100000},
        {"query": "x", "mode": "telepathy"},
        {"query": "x", "unexpected": 1},
        {"query": ["a", "list"]},
        {"query": "x", "filters": {"a": 1}},
    ],
)
def test_hostile_search_bodies_get_a_422_in_the_error_shape(server, tokens, body):
    with server.client(tokens["vic"]) as http:
        response = http.post("/api/v1/domains/granted/search", json=body)
        assert response.status_code == 422, response.text
        assert error_of(response)["code"] == "invalid_request"
        assert http.get("/healthz").status_code == 200  # the server keeps running


@pytest.mark.parametrize(
    "name", ["..%2F..%2Fetc", "UPPER", "a" * 300, "nul%00byte", "%E2%80%AEtxt.exe"]
)
def test_hostile_domain_names_are_clear_errors_not_crashes(server, tokens, name):
    with server.client(tokens["ada"]) as http:
        response = http.get(f"/api/v1/domains/{name}")
    assert response.status_code in (400, 404), response.text
    assert error_of(response)["message"]


def test_malformed_json_is_a_422_not_a_crash(server, tokens):
    with server.client(tokens["vic"]) as http:
        response = http.post(
            "/api/v1/domains/granted/search",
            content=b'{"query": "unterminated',
            headers={"content-type": "application/json"},
        )
    assert response.status_code == 422
    assert error_of(response)["code"] == "invalid_request"


@pytest.mark.parametrize("path", ["/api/v1/login", "/api/v1/domains/granted/search"])
def test_a_body_that_is_not_utf8_is_a_422_like_other_malformed_json(server, tokens, path):
    """Found by schemathesis: FastAPI's 400 "error parsing the body" was undocumented."""
    with server.client(tokens["vic"]) as http:
        response = http.post(
            path, content=b'{"query": "\xff\xfe"}', headers={"content-type": "application/json"}
        )
    assert response.status_code == 422, response.text
    assert error_of(response)["code"] == "invalid_request"


def test_openapi_schema_and_offline_docs(server):
    with server.client() as http:
        schema = http.get("/api/v1/openapi.json").json()
        assert "/api/v1/domains/{name}/search" in schema["paths"]
        page = http.get("/api/docs")
        assert page.status_code == 200
        assert "http://" not in page.text and "https://" not in page.text  # nothing from a CDN
        assert "<script>" not in page.text  # no inline script: the CSP holds
        for src in ("/api/docs/static/swagger-ui-bundle.js", "/api/docs/start.js"):
            assert http.get(src).status_code == 200, src


def test_the_operator_actor_is_not_reachable_over_http(server, tokens):
    assert Actor.operator().user_id is None
    with server.client(tokens["eve"]) as http:
        assert http.get("/api/v1/domains/secret").status_code == 404


def test_forwarded_headers_are_not_trusted_unless_a_proxy_is_named(server, server_sm, tokens):
    """Without --forwarded-allow-ips a client cannot choose the address the audit records."""
    from tidyllm.access import read_audit

    with server.client() as http:
        response = http.post(
            "/api/v1/login",
            json={"name": "vic", "password": "wrong password!"},
            headers={"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"},
        )
    assert response.status_code == 401
    assert "secure" not in response.headers.get("set-cookie", "").lower()
    failures = [e for e in read_audit(server_sm) if e.action == "login.failure"]
    assert failures and failures[-1].client == "127.0.0.1", failures[-1]
