"""Documents over HTTP against a real ``tidyllm serve``: list, show, download, delete, re-index.

Files come in through the domains' ingest zones (the test process runs the worker on the
server's database and data folder), so each document has a ledger file and an original.
"""

from __future__ import annotations

import base64
import io
import json
import urllib.parse

import pytest
from server_helpers import error_of

from tidyllm.access import add_grant, add_user, create_token, read_audit
from tidyllm.dropzones import UnifiedDropZones
from tidyllm.extraction import ExtractedDocument, Page
from tidyllm.knowledge import create_domain
from tidyllm.knowledge.documents import ORDERS
from tidyllm.knowledge.indexing import index_document
from tidyllm.server.routes_documents import content_disposition

PASSWORD = "correct horse battery staple"
ODD_NAME = 'Bericht "Q1" Zürich ✓.txt'
FILES = {
    ODD_NAME: b"The quarterly report of the Zurich office. Revenue grew by four percent.\n",
    "plain.txt": b"A plain text file about fieldwork that ended in March 2015.\n",
    "notes_100%.txt": b"Notes with a percent sign and an underscore in the name.\n",
}


def process(sm, zone: str, files: dict[str, bytes]) -> None:
    with UnifiedDropZones(sm) as dz:
        for name, data in files.items():
            dz.drop_data(io.BytesIO(data), zone=zone, name=name)
        dz.drain([zone], track=False)


@pytest.fixture(scope="module")
def setup(server_sm) -> dict:
    """Users ada (admin), eve (editor of docs), vic (viewer of docs), ned (editor, no grant);
    domain ``docs`` with three dropped files and one indexed directly, ``hidden`` with one."""
    tokens = {}
    for name, role in (("ada", "admin"), ("eve", "editor"), ("vic", "viewer"), ("ned", "editor")):
        add_user(server_sm, name, role, PASSWORD)
        tokens[name] = create_token(server_sm, name, "test").secret
    for name in ("docs", "hidden"):
        create_domain(server_sm, name)
    add_grant(server_sm, "docs", user="eve", role="editor")
    add_grant(server_sm, "docs", user="vic", role="viewer")
    process(server_sm, "ingest-docs", FILES)
    process(server_sm, "ingest-hidden", {"hidden.txt": b"A secret memo about the merger.\n"})
    index_document(
        server_sm,
        domain="docs",
        document=ExtractedDocument(mime="text/plain", pages=(Page(1, "Direct text."),)),
        source_uri="mem://direct.txt",
        version="v1",
        content_hash="direct",
        title="Direct",
    )
    return {"tokens": tokens}


def all_docs(server, token: str, domain: str = "docs", **params) -> list[dict]:
    with server.client(token) as http:
        response = http.get(f"/api/v1/domains/{domain}/documents", params=params)
    assert response.status_code == 200, response.text
    return response.json()["documents"]


def doc_id(server, token: str, title: str, domain: str = "docs") -> int:
    return next(d["id"] for d in all_docs(server, token, domain) if d["title"] == title)


def test_a_viewer_lists_the_documents_with_their_counts(server, setup):
    docs = all_docs(server, setup["tokens"]["vic"])
    assert {d["title"] for d in docs} == {*FILES, "Direct"}
    for doc in docs:
        assert doc["domain"] == "docs" and doc["state"] == "indexed"
        assert doc["pages"] == 1 and doc["chunks"] >= 1 and doc["indexed_at"]
    dropped = next(d for d in docs if d["title"] == "plain.txt")
    assert dropped["zone"] == "ingest-docs" and dropped["file_id"] == int(dropped["version"])
    direct = next(d for d in docs if d["title"] == "Direct")
    assert direct["zone"] is None and direct["file_id"] is None
    assert [d["id"] for d in docs] == sorted((d["id"] for d in docs), reverse=True)


def test_title_filter_is_contains_and_takes_wildcards_literally(server, setup):
    vic = setup["tokens"]["vic"]
    assert [d["title"] for d in all_docs(server, vic, title="zÜRICH")] == [ODD_NAME]
    assert [d["title"] for d in all_docs(server, vic, title="100%")] == ["notes_100%.txt"]
    assert all_docs(server, vic, title="%") == [d for d in all_docs(server, vic, title="100%")]
    assert all_docs(server, vic, title="plain_txt") == []  # "_" is no wildcard
    assert all_docs(server, vic, title="no such title") == []


def test_pages_follow_the_cursor_without_repeats_or_gaps(server, setup):
    vic = setup["tokens"]["vic"]
    seen, cursor = [], None
    with server.client(vic) as http:
        while True:
            params = {"limit": 1, **({"cursor": cursor} if cursor else {})}
            page = http.get("/api/v1/domains/docs/documents", params=params).json()
            seen += [d["id"] for d in page["documents"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
    assert seen == [d["id"] for d in all_docs(server, vic)]
    assert len(seen) == len(set(seen)) == 4


def _tampered(cursor: str, **changes) -> str:
    data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    data.update(changes)
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def test_garbage_and_tampered_cursors_are_a_clear_400(server, setup):
    with server.client(setup["tokens"]["vic"]) as http:
        first = http.get("/api/v1/domains/docs/documents", params={"limit": 1}).json()
        good = first["next_cursor"]
        hostile = [
            "garbage",
            "!!!",
            "%00",
            "e30",  # {}
            base64.urlsafe_b64encode(b"[1, 2]").decode(),
            _tampered(good, after="1 OR 1=1"),
            _tampered(good, after=-5),
            _tampered(good, after=2**70),
            _tampered(good, q="0" * 16),
            _tampered(good, v=2),
            "ü" * 10,
        ]
        for cursor in hostile:
            response = http.get("/api/v1/domains/docs/documents", params={"cursor": cursor})
            assert response.status_code == 400, (cursor, response.text)
            assert error_of(response)["code"] == "invalid_cursor"
        other_filter = http.get(
            "/api/v1/domains/docs/documents", params={"cursor": good, "title": "a"}
        )
        assert other_filter.status_code == 400  # a cursor belongs to its query
        for params in ({"cursor": "x" * 5000}, {"limit": 0}, {"limit": 10**9}, {"limit": "a"}):
            response = http.get("/api/v1/domains/docs/documents", params=params)
            assert response.status_code == 422, response.text
        nul = http.get("/api/v1/domains/docs/documents", params={"title": "a\x00b"})
        assert nul.status_code == 400 and error_of(nul)["message"]


def test_a_domain_not_granted_is_a_missing_domain_on_every_document_route(server, setup):
    hidden_id = doc_id(server, setup["tokens"]["ada"], "hidden.txt", "hidden")
    with server.client(setup["tokens"]["vic"]) as http:
        for suffix in ("", f"/{hidden_id}", f"/{hidden_id}/original"):
            hidden = http.get(f"/api/v1/domains/hidden/documents{suffix}")
            missing = http.get(f"/api/v1/domains/hiddem/documents{suffix}")
            assert hidden.status_code == missing.status_code == 404
            a, b = error_of(hidden), error_of(missing)
            assert a["code"] == b["code"] == "domain_not_found"
            assert a["message"].replace("hidden", "X") == b["message"].replace("hiddem", "X")
        for method, suffix in (("DELETE", ""), ("POST", "/reindex")):
            response = http.request(method, f"/api/v1/domains/hidden/documents/{hidden_id}{suffix}")
            assert response.status_code == 404, response.text


def test_another_domains_document_id_is_a_missing_id(server, setup):
    hidden_id = doc_id(server, setup["tokens"]["ada"], "hidden.txt", "hidden")
    with server.client(setup["tokens"]["ada"]) as http:  # even an admin: ids belong to a domain
        for suffix in ("", "/original"):
            other = http.get(f"/api/v1/domains/docs/documents/{hidden_id}{suffix}")
            missing = http.get(f"/api/v1/domains/docs/documents/987654321{suffix}")
            assert other.status_code == missing.status_code == 404
            a, b = error_of(other), error_of(missing)
            assert a["code"] == b["code"] == "document_not_found"
            assert a["message"].replace(str(hidden_id), "N") == b["message"].replace(
                "987654321", "N"
            )
        assert http.delete(f"/api/v1/domains/docs/documents/{hidden_id}").status_code == 404
        assert http.get(f"/api/v1/domains/hidden/documents/{hidden_id}").status_code == 200


@pytest.mark.parametrize(
    "raw_id", ["abc", "-1", "0", "1.5", "1e3", str(2**63), "9" * 40, "%20", "0x10", "１"]
)
def test_hostile_document_ids_are_422_never_500(server, setup, raw_id):
    with server.client(setup["tokens"]["eve"]) as http:
        for method, suffix in (
            ("GET", ""),
            ("GET", "/original"),
            ("DELETE", ""),
            ("POST", "/reindex"),
        ):
            response = http.request(method, f"/api/v1/domains/docs/documents/{raw_id}{suffix}")
            assert response.status_code == 422, (method, raw_id, response.text)
            assert error_of(response)["code"] == "invalid_request"


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/domains/..%2F..%2Fetc/documents",
        "/api/v1/domains/docs/documents/..%2F..%2F1",
        "/api/v1/domains/docs%00/documents",
        "/api/v1/domains/" + "a" * 300 + "/documents",
        "/api/v1/domains/docs/documents/1/original/..%2F..%2Fpasswd",
    ],
)
def test_path_traversal_ish_paths_are_clear_errors(server, setup, path):
    with server.client(setup["tokens"]["ada"]) as http:
        response = http.get(path)
    assert response.status_code in (400, 404, 422), response.text
    assert error_of(response)["message"]


def test_the_original_downloads_byte_identical_with_a_safe_name(server, setup):
    vic = setup["tokens"]["vic"]
    with server.client(vic) as http:
        for name, data in FILES.items():
            response = http.get(
                f"/api/v1/domains/docs/documents/{doc_id(server, vic, name)}/original"
            )
            assert response.status_code == 200, response.text
            assert response.content == data
            assert response.headers["content-type"].startswith("text/plain")
            assert response.headers["content-length"] == str(len(data))
            disposition = response.headers["content-disposition"]
            assert disposition.startswith('attachment; filename="')
            star = disposition.split("filename*=UTF-8''", 1)[1]
            assert urllib.parse.unquote(star) == name
            fallback = disposition.split('filename="', 1)[1].split('"', 1)[0]
            assert fallback.isascii() and '"' not in fallback
            assert response.headers["x-content-type-options"] == "nosniff"
        direct = http.get(
            f"/api/v1/domains/docs/documents/{doc_id(server, vic, 'Direct')}/original"
        )
    assert direct.status_code == 404 and error_of(direct)["code"] == "original_not_kept"


@pytest.mark.parametrize(
    "name",
    [
        'a"b.pdf',
        "line\r\nSet-Cookie: x=1.pdf",
        "Zürich ✓ 報告.pdf",
        "evil\u202egnp.exe",
        "../../etc/passwd",
        "back\\slash.txt",
        "\x00nul.txt",
        '"',
        "",
        "é" * 300,
    ],
)
def test_content_disposition_cannot_be_split_or_escaped(name):
    header = content_disposition(name)
    assert header.isascii() and header.isprintable()
    assert "\r" not in header and "\n" not in header
    fallback = header.split('filename="', 1)[1].split('"; filename*=', 1)[0]
    assert '"' not in fallback and "\\" not in fallback and "/" not in fallback and fallback
    exact = urllib.parse.unquote(header.split("filename*=UTF-8''", 1)[1])
    assert "/" not in exact and "\\" not in exact and "\u202e" not in exact
    assert not any(ord(c) < 32 for c in exact)
    if name == "Zürich ✓ 報告.pdf":
        assert exact == name


def test_a_viewer_may_not_delete_or_reindex_and_an_ungranted_editor_sees_nothing(server, setup):
    target = doc_id(server, setup["tokens"]["vic"], "plain.txt")
    with server.client(setup["tokens"]["vic"]) as http:
        for method, suffix in (("DELETE", ""), ("POST", "/reindex")):
            response = http.request(method, f"/api/v1/domains/docs/documents/{target}{suffix}")
            assert response.status_code == 403, response.text
            assert error_of(response)["code"] == "permission_denied"
    with server.client(setup["tokens"]["ned"]) as http:
        for method, suffix in (("GET", ""), ("DELETE", ""), ("POST", "/reindex")):
            response = http.request(method, f"/api/v1/domains/docs/documents/{target}{suffix}")
            assert response.status_code == 404, response.text
            assert error_of(response)["code"] == "domain_not_found"
    assert doc_id(server, setup["tokens"]["vic"], "plain.txt") == target  # still there


def test_an_editor_reindexes_through_the_ledger_and_keeps_the_id(server, server_sm, setup):
    eve = setup["tokens"]["eve"]
    target = doc_id(server, eve, "plain.txt")
    with server.client(eve) as http:
        before = http.get(f"/api/v1/domains/docs/documents/{target}").json()
        queued = http.post(f"/api/v1/domains/docs/documents/{target}/reindex")
        assert queued.status_code == 202, queued.text
        body = queued.json()
        assert body["zone"] == "ingest-docs" and len(body["file_ids"]) == 1
        pending = http.get(f"/api/v1/domains/docs/documents/{target}").json()
        assert pending["state"] == "pending"
        again = http.post(f"/api/v1/domains/docs/documents/{target}/reindex")
        assert again.status_code == 409  # the copy is still waiting in incoming/
        with UnifiedDropZones(server_sm) as dz:
            dz.drain(["ingest-docs"], track=False)
        after = http.get(f"/api/v1/domains/docs/documents/{target}").json()
        direct = doc_id(server, eve, "Direct")
        refused = http.post(f"/api/v1/domains/docs/documents/{direct}/reindex")
    assert after["state"] == "indexed" and after["id"] == target
    assert after["version"] == str(body["file_ids"][0]) != before["version"]
    assert after["indexed_at"] > before["indexed_at"]
    assert refused.status_code == 409 and error_of(refused)["code"] == "not_reindexable"
    events = [e for e in read_audit(server_sm, user="eve") if e.action == "document.reindex"]
    assert events and events[-1].target == f"document:docs/{target}"


def test_an_editor_deletes_a_document_and_it_is_audited(server, server_sm, setup):
    eve = setup["tokens"]["eve"]
    target = doc_id(server, eve, "notes_100%.txt")
    with server.client(eve) as http:
        assert http.delete(f"/api/v1/domains/docs/documents/{target}").status_code == 204
        assert http.get(f"/api/v1/domains/docs/documents/{target}").status_code == 404
        assert http.delete(f"/api/v1/domains/docs/documents/{target}").status_code == 404
        hits = http.post("/api/v1/domains/docs/search", json={"query": "percent underscore"})
    assert all(h["document_id"] != target for h in hits.json()["hits"])
    events = [e for e in read_audit(server_sm, user="eve") if e.action == "document.delete"]
    assert [e.target for e in events] == [f"document:docs/{target}"]
    assert events[0].detail["title"] == "notes_100%.txt"


def test_the_schema_documents_every_document_route(server):
    with server.client() as http:
        paths = http.get("/api/v1/openapi.json").json()["paths"]
    base = "/api/v1/domains/{name}/documents"
    assert set(paths[base]) == {"get"}
    assert set(paths[base + "/{document_id}"]) == {"get", "delete"}
    assert set(paths[base + "/{document_id}/original"]) == {"get"}
    assert set(paths[base + "/{document_id}/reindex"]) == {"post"}


@pytest.mark.parametrize(
    ("mime", "sent"),
    [
        ("application/pdf", "application/pdf"),
        ("text/plain", "text/plain"),
        ("text/html", "application/octet-stream"),
        ("image/svg+xml", "application/octet-stream"),
        ("application/xhtml+xml", "application/octet-stream"),
        ("application/x-javascript", "application/octet-stream"),
        ("text/plain\r\nX-Evil: 1", "application/octet-stream"),
        ("", "application/octet-stream"),
    ],
)
def test_an_original_is_never_sent_as_a_type_the_browser_would_run(mime, sent):
    from tidyllm.knowledge.documents import _content_type

    assert _content_type(mime, None) == sent


# --- whole-domain order (?order=) ---------------------------------------------------------


def pages_of(http, limit: int, **params) -> list[list[int]]:
    """Every page of the listing, following next_cursor."""
    out, cursor = [], None
    while True:
        query = {"limit": limit, **params, **({"cursor": cursor} if cursor else {})}
        response = http.get("/api/v1/domains/docs/documents", params=query)
        assert response.status_code == 200, response.text
        out.append([d["id"] for d in response.json()["documents"]])
        cursor = response.json()["next_cursor"]
        if cursor is None:
            return out


@pytest.mark.parametrize("order", ORDERS)
def test_pages_follow_an_order_across_the_whole_domain_without_repeats_or_gaps(
    server, setup, order
):
    docs = {d["id"]: d for d in all_docs(server, setup["tokens"]["vic"], limit=200)}
    field = order.lstrip("-")
    with server.client(setup["tokens"]["vic"]) as http:
        whole = pages_of(http, 200, order=order)[0]
        assert sorted(whole) == sorted(docs)
        for limit in (1, 3):
            pages = pages_of(http, limit, order=order)
            assert [i for page in pages for i in page] == whole  # no repeats, no gaps
            assert all(len(page) == limit for page in pages[:-1])
    descending = order.startswith("-")
    if field != "title":  # numbers and times: exactly by value, ties by id
        keys = [(docs[i][field], i) for i in whole]
        assert keys == sorted(keys, reverse=descending)
    else:  # titles by the database's collation; these three are ordered in any of them
        ascii_titles = [docs[i]["title"] for i in whole if docs[i]["title"].isascii()]
        expected = sorted(ascii_titles, key=str.lower, reverse=descending)
        assert [t for t in ascii_titles if t[0].isalpha()] == [
            t for t in expected if t[0].isalpha()
        ]


@pytest.mark.parametrize(
    "order",
    [
        "TITLE",
        "title ",
        "--title",
        "-",
        "",
        "version",
        "id",
        "title; DROP TABLE documents",
        "title,id",
        "pages desc",
        "indexed_at\x00",
        "-" * 300,
    ],
)
def test_hostile_order_values_are_a_422(server, setup, order):
    with server.client(setup["tokens"]["vic"]) as http:
        response = http.get("/api/v1/domains/docs/documents", params={"order": order})
    assert response.status_code == 422, response.text


def test_an_orders_cursor_is_bound_to_it_and_tampered_keys_are_a_400(server, server_sm, setup):
    from tidyllm.errors import KnowledgeError
    from tidyllm.knowledge.documents import list_documents

    url = "/api/v1/domains/docs/documents"
    with server.client(setup["tokens"]["vic"]) as http:
        by_title = http.get(url, params={"limit": 1, "order": "title"}).json()["next_cursor"]
        by_pages = http.get(url, params={"limit": 1, "order": "-pages"}).json()["next_cursor"]
        by_time = http.get(url, params={"limit": 1, "order": "indexed_at"}).json()["next_cursor"]
        newest = http.get(url, params={"limit": 1}).json()["next_cursor"]
        refused = [
            ({"order": "-title"}, by_title),  # another order
            ({"order": "title", "title": "a"}, by_title),  # other filters
            ({"order": "title"}, newest),  # the default order's cursor
            ({}, by_title),  # an order's cursor without it
            ({"order": "title"}, _tampered(by_title, k=5)),
            ({"order": "title"}, _tampered(by_title, k="x" * 65)),
            ({"order": "title"}, _tampered(by_title, k=None)),
            ({"order": "-pages"}, _tampered(by_pages, k="1 OR 1=1")),
            ({"order": "-pages"}, _tampered(by_pages, k=-1)),
            ({"order": "-pages"}, _tampered(by_pages, k=2**70)),
            ({"order": "-pages"}, _tampered(by_pages, k=True)),
            ({"order": "indexed_at"}, _tampered(by_time, k="2026-01-01T00:00:00")),  # no zone
            ({"order": "indexed_at"}, _tampered(by_time, k="yesterday")),
            ({"order": "indexed_at"}, _tampered(by_time, after="1")),
        ]
        for params, cursor in refused:
            response = http.get(url, params={**params, "cursor": cursor})
            assert response.status_code == 400, (params, cursor, response.text)
            assert error_of(response)["code"] == "invalid_cursor"
    with pytest.raises(KnowledgeError, match="order must be one of"):
        list_documents(server_sm, "docs", order="id DESC")
