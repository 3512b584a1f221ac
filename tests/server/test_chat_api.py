"""Chat sessions over a real ``tidyllm serve``: a follow-up, ownership, grants, hostile input."""

from __future__ import annotations

import uuid

import httpx
import pytest
from server_helpers import Server, error_of, index_pages

from tidyllm.access import add_grant, add_user, create_token, read_audit, remove_grant

PASSWORD = "correct horse battery staple"
PAGES = (
    "The Federal Reserve selected the Federal Reserve Bank of Boston to lead model "
    "validation. The validation unit reviews every supervisory model each year.",
    "Our fieldwork on the model validation unit ended in March 2015. We interviewed staff "
    "at three Reserve Banks.",
    "The stress tests check whether large banks hold enough capital to keep lending in a "
    "severe recession.",
)
FIRST = "Which Reserve Bank leads model validation?"
FOLLOW_UP = "When did the fieldwork on it end?"


@pytest.fixture(scope="module")
def tokens(server_sm) -> dict[str, str]:
    """Viewers vic and wes (granted 'granted'), nod (no grant), admin ada; 'secret' is
    never granted to a viewer."""
    out = {}
    for name, role in (("ada", "admin"), ("vic", "viewer"), ("wes", "viewer"), ("nod", "viewer")):
        add_user(server_sm, name, role, PASSWORD)
        out[name] = create_token(server_sm, name, "test").secret
    for name in ("granted", "secret"):
        index_pages(server_sm, name, PAGES)
    for user in ("vic", "wes"):
        add_grant(server_sm, "granted", user=user, role="viewer")
    return out


def open_chat(http: httpx.Client, domain: str = "granted", **body: object) -> dict:
    response = http.post(f"/api/v1/domains/{domain}/chats", json=body or None)
    assert response.status_code == 201, response.text
    return response.json()


def test_a_follow_up_is_rewritten_and_cites_the_right_page(server: Server, tokens):
    with server.client(tokens["vic"]) as http:
        chat = open_chat(http)
        assert chat["domain"] == "granted" and chat["messages"] == 0 and chat["title"] is None
        first = http.post(f"/api/v1/chats/{chat['id']}/messages", json={"question": FIRST})
        assert first.status_code == 200, first.text
        first = first.json()
        assert first["session_id"] == chat["id"] and first["retrieval_query"] == FIRST
        assert "Boston" in first["text"]
        assert [(c["source_uri"], c["page"]) for c in first["citations"]][:1] == [
            ("mem://granted.txt", 1)
        ]
        follow = http.post(f"/api/v1/chats/{chat['id']}/messages", json={"question": FOLLOW_UP})
        assert follow.status_code == 200, follow.text
        follow = follow.json()
        assert follow["retrieval_query"] == f"{FIRST} {FOLLOW_UP}"
        assert follow["found"] and "March 2015" in follow["text"]
        assert follow["citations"][0]["page"] == 2
        assert follow["citations"][0]["title"] == "granted report"
        history = http.get(f"/api/v1/chats/{chat['id']}/messages")
        listed = http.get("/api/v1/domains/granted/chats").json()
        shown = http.get(f"/api/v1/chats/{chat['id']}").json()
    assert history.status_code == 200, history.text
    messages = history.json()
    assert [m["role"] for m in messages] == ["user", "assistant", "user", "assistant"]
    assert messages[2]["retrieval_query"] == follow["retrieval_query"]
    assert messages[3]["content"] == follow["text"]
    assert messages[3]["citations"] == follow["citations"]
    assert messages[0]["citations"] == [] and messages[1]["retrieval_query"] is None
    assert shown["messages"] == 4 and shown["title"] == FIRST  # the first question names it
    assert [c["id"] for c in listed] == [chat["id"]]


def test_sessions_are_their_owner_s_only(server: Server, tokens):
    with server.client(tokens["vic"]) as http:
        mine = open_chat(http, title="vic's notes")["id"]
        assert http.post(f"/api/v1/chats/{mine}/messages", json={"question": FIRST}).is_success
    missing = str(uuid.uuid4())
    for who in ("wes", "ada"):  # another viewer of the same domain, and even an admin
        with server.client(tokens[who]) as http:
            assert mine not in [c["id"] for c in http.get("/api/v1/domains/granted/chats").json()]
            for method, path, body in (
                ("GET", "", None),
                ("GET", "/messages", None),
                ("POST", "/messages", {"question": FIRST}),
                ("DELETE", "", None),
            ):
                theirs = http.request(method, f"/api/v1/chats/{mine}{path}", json=body)
                absent = http.request(method, f"/api/v1/chats/{missing}{path}", json=body)
                assert theirs.status_code == absent.status_code == 404, (who, method, path)
                a, b = error_of(theirs), error_of(absent)
                assert a["code"] == b["code"] == "chat_session_not_found"
                assert a["message"].replace(mine, "X") == b["message"].replace(missing, "X")
    with server.client(tokens["vic"]) as http:  # nothing of it was touched
        assert http.get(f"/api/v1/chats/{mine}").json()["messages"] == 2


def test_a_domain_not_granted_is_a_404_like_a_missing_one(server: Server, server_sm, tokens):
    with server.client(tokens["nod"]) as http:
        for method, suffix in (("POST", "chats"), ("GET", "chats")):
            hidden = http.request(method, f"/api/v1/domains/secret/{suffix}")
            absent = http.request(method, f"/api/v1/domains/secreu/{suffix}")
            assert hidden.status_code == absent.status_code == 404, hidden.text
            a, b = error_of(hidden), error_of(absent)
            assert a == {k: v.replace("secreu", "secret") for k, v in b.items()}
            assert a["code"] == "domain_not_found"
    # a session of a domain whose grant was removed is gone for its owner too
    add_grant(server_sm, "secret", user="nod")
    with server.client(tokens["nod"]) as http:
        sid = open_chat(http, "secret")["id"]
        assert http.get(f"/api/v1/chats/{sid}/messages").status_code == 200
        remove_grant(server_sm, "secret", user="nod")
        for method, path in (("GET", ""), ("GET", "/messages"), ("DELETE", "")):
            gone = http.request(method, f"/api/v1/chats/{sid}{path}")
            assert gone.status_code == 404 and error_of(gone)["code"] == "chat_session_not_found"
        assert http.get("/api/v1/domains/secret/chats").status_code == 404


def test_delete_removes_the_session_and_is_audited(server: Server, server_sm, tokens):
    with server.client(tokens["wes"]) as http:
        sid = open_chat(http, title="to delete")["id"]
        assert http.post(f"/api/v1/chats/{sid}/messages", json={"question": FIRST}).is_success
        assert http.delete(f"/api/v1/chats/{sid}").status_code == 204
        assert http.get(f"/api/v1/chats/{sid}/messages").status_code == 404
        assert http.delete(f"/api/v1/chats/{sid}").status_code == 404
        assert sid not in [c["id"] for c in http.get("/api/v1/domains/granted/chats").json()]
    events = [e for e in read_audit(server_sm, user="wes") if e.action == "chat.delete"]
    assert [(e.target, e.detail) for e in events] == [(f"chat:{sid}", {"domain": "granted"})]


def test_listing_is_newest_first_and_limited(server: Server, tokens):
    with server.client(tokens["ada"]) as http:
        made = [open_chat(http, title=f"chat {i}")["id"] for i in range(3)]
        listed = http.get("/api/v1/domains/granted/chats", params={"limit": 2})
        assert listed.status_code == 200, listed.text
        assert [c["id"] for c in listed.json()] == made[::-1][:2]
        for limit in ("0", "201", "-1", "many"):
            bad = http.get("/api/v1/domains/granted/chats", params={"limit": limit})
            assert bad.status_code == 422 and error_of(bad)["code"] == "invalid_request"


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"question": ""},
        {"question": "x" * 10_001},
        {"question": 5},
        {"question": ["a", "list"]},
        {"question": None},
        {"question": "x", "k": 0},
        {"question": "x", "k": 51},
        {"question": "x", "k": "many"},
        {"question": "x", "unexpected": 1},
        "just a string",
        [{"question": "x"}],
    ],
)
def test_hostile_turn_bodies_are_a_422(server: Server, tokens, body):
    with server.client(tokens["vic"]) as http:
        sid = open_chat(http)["id"]
        response = http.post(f"/api/v1/chats/{sid}/messages", json=body)
        assert response.status_code == 422, response.text
        assert error_of(response)["code"] == "invalid_request"
        assert http.get(f"/api/v1/chats/{sid}").json()["messages"] == 0


def test_hostile_create_bodies_ids_and_raw_bytes(server: Server, tokens):
    with server.client(tokens["vic"]) as http:
        for body in ({"title": 5}, {"title": "x" * 201}, {"unexpected": 1}, {"title": ["a"]}):
            response = http.post("/api/v1/domains/granted/chats", json=body)
            assert response.status_code == 422, (body, response.text)
        control = http.post("/api/v1/domains/granted/chats", json={"title": "a\x1b[2Jb"})
        assert control.status_code == 400 and error_of(control)["code"] == "knowledge_error"
        for raw in (b"{", b"\xff\xfe", b"null" * 10_000):
            response = http.post(
                "/api/v1/domains/granted/chats",
                content=raw,
                headers={"content-type": "application/json"},
            )
            assert response.status_code == 422, (raw[:10], response.text)
        sid = open_chat(http)["id"]
        garbled = http.post(
            f"/api/v1/chats/{sid}/messages",
            content=b'{"question": "x"',
            headers={"content-type": "application/json"},
        )
        assert garbled.status_code == 422
        for bad_id in ("not-a-uuid", "'; DROP TABLE chat_sessions; --", "0" * 500, "-1"):
            for method in ("GET", "DELETE"):
                response = http.request(method, f"/api/v1/chats/{bad_id}")
                assert response.status_code in (404, 422), (bad_id, response.text)
                assert error_of(response)["code"] in ("invalid_request", "not_found")
        nul = http.post(f"/api/v1/chats/{sid}/messages", json={"question": "\x00\x00"})
        assert nul.status_code == 400 and error_of(nul)["code"] == "search_error"


def test_cookie_requests_need_the_csrf_token(server: Server, tokens):
    with server.client() as http:
        login = http.post("/api/v1/login", json={"name": "vic", "password": PASSWORD})
        assert login.status_code == 200, login.text
        csrf = {"X-CSRF-Token": login.json()["user"]["csrf_token"]}
        refused = http.post("/api/v1/domains/granted/chats", json={})
        assert refused.status_code == 403 and error_of(refused)["code"] == "csrf_rejected"
        sid = http.post("/api/v1/domains/granted/chats", json={}, headers=csrf).json()["id"]
        turn = {"question": FIRST}
        for method, path, body in (("POST", "/messages", turn), ("DELETE", "", None)):
            for headers in ({}, {"X-CSRF-Token": "forged"}):
                response = http.request(
                    method, f"/api/v1/chats/{sid}{path}", json=body, headers=headers
                )
                assert response.status_code == 403, (method, path, response.text)
                assert error_of(response)["code"] == "csrf_rejected"
        assert http.get(f"/api/v1/chats/{sid}").json()["messages"] == 0  # nothing was asked
        assert http.post(f"/api/v1/chats/{sid}/messages", json=turn, headers=csrf).is_success
        assert http.delete(f"/api/v1/chats/{sid}", headers=csrf).status_code == 204


def test_rename_is_the_owner_s_only_checked_and_audited(server: Server, server_sm, tokens):
    with server.client(tokens["vic"]) as http:
        sid = open_chat(http, title="old name")["id"]
        renamed = http.patch(f"/api/v1/chats/{sid}", json={"title": "  new   name "})
        assert renamed.status_code == 200, renamed.text
        assert renamed.json()["title"] == "new name" and renamed.json()["id"] == sid
        assert http.get(f"/api/v1/chats/{sid}").json()["title"] == "new name"
        bad = http.patch(f"/api/v1/chats/{sid}", json={"title": "two\nlines"})
        assert bad.status_code == 400, bad.text
        assert http.patch(f"/api/v1/chats/{sid}", json={"title": "x" * 201}).status_code == 422
        assert http.patch(f"/api/v1/chats/{sid}", json={"title": 5}).status_code == 422
        assert http.patch("/api/v1/chats/not-a-uuid", json={"title": "x"}).status_code == 422
        cleared = http.patch(f"/api/v1/chats/{sid}", json={"title": None})
        assert cleared.status_code == 200 and cleared.json()["title"] is None
    for other in ("wes", "ada"):  # another viewer, and an admin: a chat is private
        with server.client(tokens[other]) as http:
            refused = http.patch(f"/api/v1/chats/{sid}", json={"title": "mine now"})
            assert refused.status_code == 404
            assert error_of(refused)["code"] == "chat_session_not_found"
    with server.client(tokens["vic"]) as http:
        assert http.get(f"/api/v1/chats/{sid}").json()["title"] is None
        missing = http.patch(f"/api/v1/chats/{uuid.uuid4()}", json={"title": "x"})
        assert missing.status_code == 404
    events = [e for e in read_audit(server_sm, user="vic") if e.action == "chat.rename"]
    assert [(e.target, e.detail) for e in events] == [(f"chat:{sid}", {"domain": "granted"})] * 2
