"""``POST /api/v1/uploads/route`` over a real ``tidyllm serve`` with routing rules: the rule
and why, only domains the user may upload into (a rule to any other domain is as if it
did not exist), refusals an upload would meet, hostile bodies, roles."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import httpx
import pytest
from server_helpers import Server, error_of, serving, session_manager

from tidyllm.access import add_grant, add_user, create_token
from tidyllm.knowledge import create_domain
from tidyllm.knowledge.routing import HEAD_BYTES

PASSWORD = "correct horse battery staple"
PDF_HEAD = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n"
RULES = """\
server:
  max_upload_bytes: 1000000
upload:
  default_domain: secret
  routes:
    - name: secret-pdfs
      match: {type: application/pdf, name: "secret*"}
      domain: secret
    - name: pdfs
      match: {type: application/pdf, name: "*.pdf"}
      domain: reports
    - name: notes
      match: {type: "text/*", name: "*.md", max_bytes: 5000}
      domain: notes
    - name: ghost
      match: {name: "*.txt"}
      domain: no-such-domain
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, module_database: str) -> Iterator[Server]:
    """``tidyllm serve --no-worker`` with the rules above (its TIDYLLM_CONFIG)."""
    tmp = tmp_path_factory.mktemp("route")
    config = tmp / "tidyllm.yaml"
    config.write_text(RULES, encoding="utf-8")
    with serving(
        tmp, module_database, "--no-worker", env={"TIDYLLM_CONFIG": str(config)}
    ) as server:
        yield server


@pytest.fixture(scope="module")
def tokens(server: Server) -> dict[str, str]:
    """ada admin; eve editor of reports, viewer of notes, nothing in secret; vic viewer."""
    with session_manager(server) as sm:
        for name in ("reports", "notes", "secret"):
            create_domain(sm, name)
        out = {}
        for name, role in (("ada", "admin"), ("eve", "editor"), ("vic", "viewer")):
            add_user(sm, name, role, PASSWORD)
            out[name] = create_token(sm, name, "test").secret
        add_grant(sm, "reports", user="eve", role="editor")
        add_grant(sm, "notes", user="eve", role="viewer")
        add_grant(sm, "reports", user="vic", role="viewer")
    return out


def ask(server: Server, token: str, name: str, head: bytes, size: int | None = None):
    body = {"name": name, "size": len(head) if size is None else size}
    body["head"] = base64.b64encode(head).decode()
    with server.client(token) as http:
        return http.post("/api/v1/uploads/route", json=body)


def decided(response: httpx.Response) -> dict:
    assert response.status_code == 200, response.text
    return response.json()


def test_the_first_matching_rule_and_why(server, tokens):
    got = decided(ask(server, tokens["eve"], "Q3 report.PDF", PDF_HEAD, 200_000))
    assert got == {
        "domain": "reports",
        "rule": "pdfs",
        "reasons": ["type application/pdf matched application/pdf", "name matched *.pdf"],
        "detected_type": "application/pdf",
        "refused": None,
    }
    admin = decided(ask(server, tokens["ada"], "secret plan.pdf", PDF_HEAD))
    assert (admin["domain"], admin["rule"]) == ("secret", "secret-pdfs")
    note = decided(ask(server, tokens["ada"], "notes.md", b"# Notes\n\nText.\n", 300))
    assert (note["domain"], note["rule"], note["detected_type"]) == (
        "notes",
        "notes",
        "text/markdown",
    )
    assert note["reasons"][-1] == "size 300 bytes is at most 5,000 bytes"
    default = decided(ask(server, tokens["ada"], "table.csv", b"a,b\n1,2\n"))
    assert (default["domain"], default["rule"]) == ("secret", None)


def test_a_rule_to_a_domain_not_granted_is_as_if_absent(server, tokens):
    eve = tokens["eve"]
    # secret-pdfs points at a domain eve was not granted: her file falls through to pdfs,
    # exactly as a PDF no hidden rule mentions
    hidden = decided(ask(server, eve, "secret plan.pdf", PDF_HEAD))
    assert hidden == decided(ask(server, eve, "plain plan.pdf", PDF_HEAD))
    # notes -> notes (eve only views it) and the default (secret) are hidden too: a
    # Markdown file and a file no rule matches get the same answer
    md = decided(ask(server, eve, "notes.md", b"# Notes\n"))
    csv = decided(ask(server, eve, "table.csv", b"a,b\n"))
    assert md["domain"] is None and md["rule"] is None
    assert {k: v for k, v in md.items() if k != "detected_type"} == {
        k: v for k, v in csv.items() if k != "detected_type"
    }
    assert md["reasons"] == ["no rule applies to you: choose a domain"]
    # a rule to a domain that does not exist is as absent, for admins too
    for token in (eve, tokens["ada"]):
        text = ask(server, token, "a.txt", b"text\n").text
        assert "ghost" not in text and "no-such-domain" not in text
    for response in (hidden, md, csv):
        assert "secret" not in repr(response) and "notes" not in repr(response["reasons"])


def test_a_viewer_gets_nothing_and_strangers_less(server, tokens):
    refused = ask(server, tokens["vic"], "a.pdf", PDF_HEAD)
    assert refused.status_code == 403
    assert error_of(refused)["code"] == "permission_denied"
    assert "reports" not in refused.text and "secret" not in refused.text
    anonymous = ask(server, "not-a-token", "a.pdf", PDF_HEAD)
    assert anonymous.status_code == 401
    with server.client() as http:
        login = http.post("/api/v1/login", json={"name": "eve", "password": PASSWORD})
        assert login.status_code == 200
        body = {"name": "a.pdf", "size": 10, "head": ""}
        no_csrf = http.post("/api/v1/uploads/route", json=body)
        assert no_csrf.status_code == 403  # a cookie session needs its CSRF token
        http.headers["X-CSRF-Token"] = login.json()["user"]["csrf_token"]
        assert http.post("/api/v1/uploads/route", json=body).status_code == 200


def test_what_an_upload_would_refuse_is_said_before(server, tokens):
    eve = tokens["eve"]
    cases = {
        ("tool.exe", b"MZ\x90\x00\x03"): "not supported",
        ("report.pdf", b"PK\x03\x04zipzip"): "its content is a zip archive",
        ("empty.pdf", b""): "empty",
        ("CON.txt", b"text"): "reserved device name",
        ("bad\x07name.pdf", PDF_HEAD): "not accepted",
    }
    for (name, head), words in cases.items():
        got = decided(ask(server, eve, name, head))
        assert got["domain"] is None and got["detected_type"] is None, got
        assert words in got["refused"], (name, got)
    big = decided(ask(server, eve, "big.pdf", PDF_HEAD, 1_000_001))
    assert "larger than the server's limit of 1,000,000 bytes" in big["refused"]
    # folders are dropped from the name as the upload drops them
    assert decided(ask(server, eve, "../../etc/x.pdf", PDF_HEAD))["domain"] == "reports"


def test_the_route_sees_the_bytes_the_upload_sniffs(server, tokens):
    """A .txt whose binary part starts after 4 KB: the route and the upload both refuse it,
    because the browser sends as many first bytes as the upload's type detection reads."""
    data = b"plain prose line\n" * 400 + b"\x00\x01\x02\xff" * 200  # binary after 6.8 KB
    got = decided(ask(server, tokens["eve"], "notes.txt", data[:HEAD_BYTES], len(data)))
    assert got["domain"] is None and "content is" in got["refused"], got
    with server.client(tokens["eve"]) as http:
        sent = http.post("/api/v1/domains/reports/uploads", files={"file": ("notes.txt", data)})
    assert sent.status_code == 415 or sent.status_code == 400, sent.text
    assert error_of(sent)["message"] == got["refused"]


TOO_MANY_BYTES = base64.b64encode(b"x" * (HEAD_BYTES + 1)).decode()


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"name": "a.pdf", "size": 5, "head": "not base64!"}, 400),
        ({"name": "a.pdf", "size": 2, "head": base64.b64encode(b"%PDF-").decode()}, 400),
        ({"name": "a.pdf", "size": 10**6, "head": TOO_MANY_BYTES}, 400),
        ({"name": "a.pdf", "size": 10**6, "head": "AAAA" * (HEAD_BYTES // 3 + 2)}, 422),
        ({"name": "a.pdf", "size": 10, "head": "", "domain": "secret"}, 422),
        ({"name": "", "size": 10, "head": ""}, 422),
        ({"name": "a" * 1025, "size": 10, "head": ""}, 422),
        ({"name": "a.pdf", "size": -1, "head": ""}, 422),
        ({"name": "a.pdf", "size": 2**53, "head": ""}, 422),
        ({"name": "a.pdf", "size": "10", "head": ""}, 200),  # lax JSON ints, as elsewhere
        ({"name": ["a.pdf"], "size": 10, "head": ""}, 422),
        ({"name": "a.pdf", "size": 10}, 422),
        ([], 422),
        ("a.pdf", 422),
    ],
)
def test_hostile_bodies(server, tokens, body, status):
    with server.client(tokens["eve"]) as http:
        response = http.post("/api/v1/uploads/route", json=body)
    assert response.status_code == status, response.text
    if status != 200:
        error_of(response)


def test_a_body_that_is_not_json(server, tokens):
    with server.client(tokens["eve"]) as http:
        for content in (b"\xff\xfe{", b"{" * 10_000, b"name=a.pdf"):
            response = http.post(
                "/api/v1/uploads/route",
                content=content,
                headers={"Content-Type": "application/json"},
            )
            assert response.status_code == 422, response.text
            error_of(response)
