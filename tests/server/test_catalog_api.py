"""The paper repository over HTTP against a real ``tidyllm serve``: the catalog, a document's
metadata (show, edit, tags), similar documents, collections (create, list, show, add,
remove, export, report, delete), and metadata filters on search, ask and chat.

Access goes through the library's SQL: a domain, document or collection not granted is the
same 404 as a missing one; a viewer's writes are 403; every write is in the audit log.
"""

from __future__ import annotations

import json

import pytest
from server_helpers import error_of

from tidyllm.access import add_grant, add_user, create_token, read_audit
from tidyllm.extraction import ExtractedDocument, Page
from tidyllm.ids import MAX_ID
from tidyllm.knowledge import create_domain
from tidyllm.knowledge.catalog import set_fields
from tidyllm.knowledge.indexing import index_document

PASSWORD = "correct horse battery staple"
TOPICS = [
    ("Monetary policy and interest rates", "The central bank raised interest rates."),
    ("Inflation expectations of households", "Households expect inflation to stay high."),
    ("Bank lending after a rate rise", "Banks lend less after the policy rate rises."),
    ("Exchange rates and monetary policy", "A higher policy rate strengthens the currency."),
    ("Protein folding with attention", "Attention models predict protein structures."),
    ("Gene expression in yeast", "Yeast cells change gene expression under stress."),
    ("Coral reefs and ocean warming", "Warmer oceans bleach coral reefs."),
    ("Soil microbes and crop yields", "Soil microbes raise the yields of wheat."),
]
CORE = 4  # the first four documents are the collection "core" in the tests that need it


def index(sm, domain: str, i: int, title: str, text: str, uri: str | None = None) -> int:
    done = index_document(
        sm,
        domain=domain,
        document=ExtractedDocument(
            mime="text/plain",
            pages=(Page(1, f"{title}. {text}"), Page(2, f"More on {title.lower()}. {text}")),
        ),
        source_uri=uri or f"mem://{domain}/{i}.txt",
        version="1",
        content_hash=f"{domain}-{i}",
        title=title,
    )
    return done.document_id


@pytest.fixture(scope="module")
def setup(server_sm) -> dict:
    """ada (admin), eve (editor of papers), vic (viewer of papers), ned (editor, no grant);
    ``papers`` with eight documents with metadata (one with a second name), ``hidden`` with
    one document and a collection."""
    tokens = {}
    for name, role in (("ada", "admin"), ("eve", "editor"), ("vic", "viewer"), ("ned", "editor")):
        add_user(server_sm, name, role, PASSWORD)
        tokens[name] = create_token(server_sm, name, "test").secret
    for name in ("papers", "hidden"):
        create_domain(server_sm, name)
    add_grant(server_sm, "papers", user="eve", role="editor")
    add_grant(server_sm, "papers", user="vic", role="viewer")
    ids = []
    for i, (title, text) in enumerate(TOPICS):
        doc = index(server_sm, "papers", i, title, text)
        set_fields(
            server_sm,
            doc,
            {
                "year": 2018 + i,
                "authors": ["Ada Lovelace" if i % 2 == 0 else "Grace Hopper", f"Writer {i}"],
                "tags": ["econ" if i < CORE else "bio", f"t{i}"],
                "doi": f"10.1234/paper.{i}",
            },
        )
        ids.append(doc)
    # the same content under a second name: one document with two names
    same = index(server_sm, "papers", 0, *TOPICS[0], uri="mem://papers/copy-of-0.txt")
    assert same == ids[0]
    hidden = index(server_sm, "hidden", 0, "A secret memo", "The merger closes in May.")
    from tidyllm.knowledge.collections import add_to_collection, create_collection

    create_collection(server_sm, "secret", domain="hidden")
    create_collection(server_sm, "shelf", domain="papers")
    add_to_collection(server_sm, "secret", [hidden], domain="hidden")
    return {"tokens": tokens, "ids": ids, "hidden": hidden}


def client(server, setup, who: str):
    return server.client(setup["tokens"][who])


def audit_of(sm, user: str) -> list[tuple[str, str]]:
    return [(e.action, e.target) for e in read_audit(sm, user=user)]


# --- the catalog ---------------------------------------------------------------------------


def test_the_catalog_filters_by_metadata_and_pages_with_a_cursor(server, setup):
    ids = setup["ids"]
    with client(server, setup, "vic") as http:
        every = http.get("/api/v1/domains/papers/catalog")
        assert every.status_code == 200, every.text
        body = every.json()
        assert [d["id"] for d in body["documents"]] == sorted(ids, reverse=True)
        assert body["filter"] == {} and body["next_cursor"] is None
        first = next(d for d in body["documents"] if d["id"] == ids[0])
        assert first["title"] == TOPICS[0][0]
        assert first["year"] == 2018 and first["authors"] == ["Ada Lovelace", "Writer 0"]
        assert first["provenance"]["year"] == "edited"

        def listed(**params) -> list[int]:
            response = http.get("/api/v1/domains/papers/catalog", params=params)
            assert response.status_code == 200, response.text
            return sorted(d["id"] for d in response.json()["documents"])

        assert listed(year="2020..2022") == sorted(ids[2:5])
        assert listed(year="2024") == [ids[6]]
        assert listed(tag="econ") == sorted(ids[:CORE])
        assert listed(tag=["econ", "t1"]) == [ids[1]]  # repeatable: each of them
        assert listed(author="hopper") == sorted(ids[1::2])
        assert listed(id="doi:10.1234/PAPER.3") == [ids[3]]  # a DOI case-insensitive
        assert listed(author="lovelace", year="2020..", tag="econ") == [ids[2]]

        pages, cursor = [], None
        while True:
            params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
            page = http.get("/api/v1/domains/papers/catalog", params=params).json()
            pages.append([d["id"] for d in page["documents"]])
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert [len(p) for p in pages] == [3, 3, 2]
        assert [i for p in pages for i in p] == sorted(ids, reverse=True)
        # a cursor belongs to its filter
        other = http.get("/api/v1/domains/papers/catalog", params={"tag": "bio", "limit": 3})
        stray = http.get(
            "/api/v1/domains/papers/catalog",
            params={"tag": "econ", "cursor": other.json()["next_cursor"]},
        )
        assert stray.status_code == 400 and error_of(stray)["code"] == "invalid_cursor"


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"year": "2024..2020"}, 400),  # backwards
        ({"year": "20x0"}, 400),
        ({"year": "99999"}, 400),
        ({"year": "1" * 41}, 422),
        ({"author": "a\x00b"}, 400),
        ({"tag": [f"t{i}" for i in range(21)]}, 422),
        ({"author": "x" * 301}, 422),
        ({"collection": "no such collection"}, 404),
        ({"collection": "bad/name"}, 400),
        ({"limit": 0}, 422),
        ({"limit": 201}, 422),
        ({"cursor": "not-a-cursor"}, 400),
    ],
)
def test_bad_catalog_filters_are_clear_errors(server, setup, params, status):
    with client(server, setup, "vic") as http:
        response = http.get("/api/v1/domains/papers/catalog", params=params)
    assert response.status_code == status, (params, response.text)
    error_of(response)


def test_a_domain_not_granted_is_the_catalog_s_404(server, setup):
    for who in ("vic", "ned"):
        with client(server, setup, who) as http:
            hidden = http.get("/api/v1/domains/hidden/catalog")
            missing = http.get("/api/v1/domains/nowhere/catalog")
        assert hidden.status_code == missing.status_code == 404
        assert error_of(hidden)["code"] == error_of(missing)["code"] == "domain_not_found"


# --- one document's metadata ---------------------------------------------------------------


def test_metadata_shows_fields_provenance_layers_and_names(server, setup):
    doc = setup["ids"][0]
    with client(server, setup, "vic") as http:
        response = http.get(f"/api/v1/domains/papers/documents/{doc}/metadata")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["id"] == doc and body["domain"] == "papers"
    assert body["doi"] == "10.1234/paper.0" and body["tags"] == ["econ", "t0"]
    assert body["provenance"]["doi"] == "edited"
    assert body["layers"]["edited"]["year"] == 2018
    names = [n["source_uri"] for n in body["names"]]
    assert names[0] == "mem://papers/0.txt" and "mem://papers/copy-of-0.txt" in names
    assert body["names"][0]["reason"] is None


def test_a_document_not_granted_or_elsewhere_is_not_found(server, setup):
    doc, hidden = setup["ids"][0], setup["hidden"]
    with client(server, setup, "vic") as http:
        # the hidden domain: the domain's 404
        for path in (
            f"/api/v1/domains/hidden/documents/{hidden}/metadata",
            f"/api/v1/domains/hidden/documents/{hidden}/similar",
        ):
            response = http.get(path)
            assert response.status_code == 404 and error_of(response)["code"] == "domain_not_found"
        # a hidden document addressed through a granted domain, and a missing id: the same
        elsewhere = http.get(f"/api/v1/domains/papers/documents/{hidden}/metadata")
        missing = http.get(f"/api/v1/domains/papers/documents/{MAX_ID}/metadata")
        assert elsewhere.status_code == missing.status_code == 404
        assert error_of(elsewhere)["code"] == error_of(missing)["code"] == "document_not_found"
        assert "secret" not in elsewhere.text.lower()
        for bad in (0, -1, MAX_ID + 1, "abc", "1.5"):
            response = http.get(f"/api/v1/domains/papers/documents/{bad}/metadata")
            assert response.status_code == 422, (bad, response.text)
    with client(server, setup, "ned") as http:  # an editor without a grant
        response = http.patch(
            f"/api/v1/domains/papers/documents/{doc}/metadata", json={"notes": "x"}
        )
        assert response.status_code == 404 and error_of(response)["code"] == "domain_not_found"


def test_an_editor_edits_fields_kept_in_the_edited_layer_and_audited(server, server_sm, setup):
    doc = setup["ids"][5]
    path = f"/api/v1/domains/papers/documents/{doc}/metadata"
    with client(server, setup, "eve") as http:
        edit = {
            "title": "Gene\nexpression\x00 in  yeast, revised",
            "authors": ["Barbara McClintock", "Writer 5"],
            "year": 1983,
            "fields": {"venue": "Science", "score": "0.93"},
        }
        response = http.patch(path, json=edit)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["title"] == "Gene expression in yeast, revised"  # one line, no NUL
        assert body["year"] == 1983 and body["authors"][0] == "Barbara McClintock"
        assert body["fields"] == {"venue": "Science", "score": "0.93"}
        assert body["provenance"]["fields.venue"] == "edited"
        # null clears a field; fields left out stay
        cleared = http.patch(path, json={"year": None}).json()
        assert cleared["year"] is None and cleared["authors"][0] == "Barbara McClintock"
        assert http.get(path).json()["title"] == "Gene expression in yeast, revised"
    assert ("document.edit", f"document:papers/{doc}") in audit_of(server_sm, "eve")


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"colour": "red"}, 422),  # unknown field
        ({"year": 99999}, 422),
        ({"year": "2020..2021"}, 422),
        ({"abstract": "x" * 10_000_000}, 422),  # 10 MB
        ({"title": "x" * 1001}, 422),
        ({"authors": ["A"] * 10_000}, 422),
        ({"tags": [f"t{i}" for i in range(10_000)]}, 422),
        ({"fields": {"bad key!": "x"}}, 400),
        ({"fields": {f"k{i}": "v" for i in range(101)}}, 422),
        ({"fields": {"venue": None}}, 422),
        ({}, 400),  # nothing to set
        ([1, 2], 422),
    ],
)
def test_hostile_metadata_edits_are_refused(server, setup, body, status):
    doc = setup["ids"][6]
    with client(server, setup, "eve") as http:
        response = http.patch(f"/api/v1/domains/papers/documents/{doc}/metadata", json=body)
    assert response.status_code == status, response.text[:300]
    error_of(response)


def test_a_viewer_cannot_write(server, setup):
    doc = setup["ids"][0]
    base = f"/api/v1/domains/papers/documents/{doc}"
    with client(server, setup, "vic") as http:
        for method, path, body in (
            ("PATCH", "/metadata", {"notes": "mine"}),
            ("POST", "/tags", {"tags": ["x"]}),
            ("DELETE", "/tags", {"tags": ["econ"]}),
        ):
            response = http.request(method, base + path, json=body)
            assert response.status_code == 403, (method, path, response.text)
            assert error_of(response)["code"] == "permission_denied"
        for method, path, body in (
            ("POST", "/api/v1/domains/papers/collections", {"name": "mine"}),
            ("DELETE", "/api/v1/domains/papers/collections/shelf", None),
            ("POST", "/api/v1/domains/papers/collections/shelf/documents", {"ids": [doc]}),
            ("DELETE", "/api/v1/domains/papers/collections/shelf/documents", {"ids": [doc]}),
        ):
            response = http.request(method, path, json=body)
            assert response.status_code == 403, (method, path, response.text)
            assert error_of(response)["code"] == "permission_denied"
        assert http.get(base + "/metadata").json()["notes"] is None
        assert http.get("/api/v1/domains/papers/collections/shelf").json()["documents"] == []


def test_tags_are_added_and_removed_and_audited(server, server_sm, setup):
    doc = setup["ids"][7]
    path = f"/api/v1/domains/papers/documents/{doc}/tags"
    with client(server, setup, "eve") as http:
        added = http.post(path, json={"tags": ["soil", "bio", "to read"]})
        assert added.status_code == 200, added.text
        assert added.json()["tags"] == ["bio", "t7", "soil", "to read"]
        removed = http.request("DELETE", path, json={"tags": ["bio", "never there"]})
        assert removed.status_code == 200 and removed.json()["tags"] == ["t7", "soil", "to read"]
        for hostile, status in (
            ({"tags": [f"t{i}" for i in range(10_000)]}, 422),
            ({"tags": []}, 422),
            ({"tags": ["x" * 301]}, 422),
            ({"tags": ["\x00\x01"]}, 400),  # nothing left once control characters go
            ({"tags": ["ok"], "extra": 1}, 422),
            ({"tags": "ok"}, 422),
        ):
            response = http.post(path, json=hostile)
            assert response.status_code == status, (hostile, response.text[:200])
            error_of(response)
    events = audit_of(server_sm, "eve")
    assert ("document.tag", f"document:papers/{doc}") in events
    assert ("document.untag", f"document:papers/{doc}") in events


def test_similar_documents(server, setup):
    ids = setup["ids"]
    with client(server, setup, "vic") as http:
        response = http.get(f"/api/v1/domains/papers/documents/{ids[0]}/similar", params={"k": 3})
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["document_id"] == ids[0] and body["k"] == 3
        found = [d["document_id"] for d in body["documents"]]
        assert len(found) == 3 and ids[0] not in found and set(found) <= set(ids)
        scores = [d["similarity"] for d in body["documents"]]
        assert scores == sorted(scores, reverse=True)
        for k in (0, 101, "x"):
            bad = http.get(f"/api/v1/domains/papers/documents/{ids[0]}/similar", params={"k": k})
            assert bad.status_code == 422, (k, bad.text)


# --- collections ---------------------------------------------------------------------------


def test_a_collection_s_whole_life(server, server_sm, setup):
    ids = setup["ids"]
    base = "/api/v1/domains/papers/collections"
    with client(server, setup, "eve") as http:
        made = http.post(base, json={"name": "core", "description": "the\x00 economics ones"})
        assert made.status_code == 201, made.text
        assert made.json()["name"] == "core" and made.json()["documents"] == 0
        again = http.post(base, json={"name": "core"})
        assert again.status_code == 409 and error_of(again)["code"] == "collection_exists"
        assert http.post(base, json={"name": "to read"}).status_code == 201

        add = http.post(f"{base}/core/documents", json={"ids": [*ids[:CORE], ids[0]]})
        assert add.status_code == 200, add.text
        assert add.json()["changed"] == ids[:CORE] and add.json()["collection"]["documents"] == 4
        assert http.post(f"{base}/core/documents", json={"ids": [ids[1]]}).json()["unchanged"] == [
            ids[1]
        ]
        # another domain's document: not found, nothing changed
        stray = http.post(f"{base}/core/documents", json={"ids": [ids[5], setup["hidden"]]})
        assert stray.status_code == 404 and error_of(stray)["code"] == "document_not_found"

    with client(server, setup, "vic") as http:
        listed = http.get(base).json()
        names = [(c["name"], c["documents"]) for c in listed]
        assert names == [("core", 4), ("shelf", 0), ("to read", 0)]
        shown = http.get(f"{base}/core").json()
        assert [d["id"] for d in shown["documents"]] == sorted(ids[:CORE], reverse=True)
        assert shown["collection"]["description"] == "the economics ones"
        in_core = http.get("/api/v1/domains/papers/catalog", params={"collection": "core"})
        assert sorted(d["id"] for d in in_core.json()["documents"]) == sorted(ids[:CORE])

        bib = http.get(f"{base}/core/export", params={"format": "bibtex"})
        assert bib.status_code == 200, bib.text
        assert bib.headers["content-type"].startswith("application/x-bibtex")
        assert bib.headers["content-disposition"].startswith('attachment; filename="core.bib"')
        assert bib.text.count("@") == 4 and "10.1234/paper.2" in bib.text
        csl = http.get(f"{base}/core/export", params={"format": "csl-json"})
        assert csl.status_code == 200 and "core.json" in csl.headers["content-disposition"]
        items = json.loads(csl.text)
        assert sorted(i["DOI"] for i in items) == [f"10.1234/paper.{i}" for i in range(CORE)]
        assert http.get(f"{base}/core/export", params={"format": "ris"}).status_code == 422

        report = http.get(f"{base}/core/report")
        assert report.status_code == 200, report.text
        body = report.json()
        assert [d["id"] for d in body["documents"]] == sorted(ids[:CORE])
        assert len(body["matrix"]) == 4 and all(len(row) == 4 for row in body["matrix"])
        assert body["matrix"][0][0] == pytest.approx(1.0, abs=1e-3)
        assert len(body["pairs"]) == 6 and "Closest pairs" in body["text"]
        slim = http.get(f"{base}/core/report", params={"matrix": "false"}).json()
        assert slim["matrix"] is None and slim["pairs"] == body["pairs"]

    with client(server, setup, "eve") as http:
        out = http.request("DELETE", f"{base}/core/documents", json={"ids": [ids[3], ids[6]]})
        assert out.status_code == 200, out.text
        assert out.json()["changed"] == [ids[3]] and out.json()["unchanged"] == [ids[6]]
        assert http.delete(f"{base}/to read").status_code == 204
        gone = http.get(f"{base}/to read")
        assert gone.status_code == 404 and error_of(gone)["code"] == "collection_not_found"

    events = audit_of(server_sm, "eve")
    for action, target in (
        ("collection.create", "collection:papers/core"),
        ("collection.add", "collection:papers/core"),
        ("collection.remove", "collection:papers/core"),
        ("collection.delete", "collection:papers/to read"),
    ):
        assert (action, target) in events, (action, events)


def test_a_collection_not_granted_is_not_found(server, setup):
    with client(server, setup, "eve") as http:
        for method, path, body in (
            ("GET", "/api/v1/domains/hidden/collections", None),
            ("GET", "/api/v1/domains/hidden/collections/secret", None),
            ("GET", "/api/v1/domains/hidden/collections/secret/export", None),
            ("GET", "/api/v1/domains/hidden/collections/secret/report", None),
            ("DELETE", "/api/v1/domains/hidden/collections/secret", None),
            ("POST", "/api/v1/domains/hidden/collections", {"name": "mine"}),
            ("POST", "/api/v1/domains/hidden/collections/secret/documents", {"ids": [1]}),
        ):
            response = http.request(method, path, json=body)
            assert response.status_code == 404, (method, path, response.text)
            assert error_of(response)["code"] == "domain_not_found"
            assert "secret" not in response.text
        # the name of another domain's collection, in a granted domain: not found either
        response = http.get("/api/v1/domains/papers/collections/secret")
        assert response.status_code == 404
        assert error_of(response)["code"] == "collection_not_found"


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "", {"name": "bad/name"}),
        ("POST", "", {"name": ""}),
        ("POST", "", {"name": "x" * 129}),
        ("POST", "", {"name": "ok", "description": "d" * 2001}),
        ("POST", "", {"name": "ok", "owner": "me"}),
        ("POST", "/core/documents", {"ids": [0]}),
        ("POST", "/core/documents", {"ids": [MAX_ID + 1]}),
        ("POST", "/core/documents", {"ids": ["1"]}),
        ("POST", "/core/documents", {"ids": [True]}),
        ("POST", "/core/documents", {"ids": [1.5]}),
        ("POST", "/core/documents", {"ids": []}),
        ("POST", "/core/documents", {"ids": list(range(1, 10_002))}),
        ("DELETE", "/core/documents", {"ids": [-5]}),
        ("GET", "/" + "x" * 129, None),
        ("GET", "/%00nul", None),
        ("GET", "/core?limit=1001", None),
    ],
)
def test_hostile_collection_requests_are_refused(server, setup, method, path, body):
    with client(server, setup, "eve") as http:
        response = http.request(method, f"/api/v1/domains/papers/collections{path}", json=body)
    assert response.status_code == 422, (method, path, response.text[:300])
    assert error_of(response)["code"] == "invalid_request"


def test_cookie_writes_need_the_csrf_token(server, setup):
    doc = setup["ids"][4]
    path = f"/api/v1/domains/papers/documents/{doc}/metadata"
    with server.client() as http:
        login = http.post("/api/v1/login", json={"name": "eve", "password": PASSWORD})
        assert login.status_code == 200, login.text
        csrf = {"X-CSRF-Token": login.json()["user"]["csrf_token"]}
        for headers in ({}, {"X-CSRF-Token": "forged"}):
            refused = http.patch(path, json={"notes": "by cookie"}, headers=headers)
            assert refused.status_code == 403 and error_of(refused)["code"] == "csrf_rejected"
        assert http.get(path).json()["notes"] is None  # reads need no token; nothing written
        done = http.patch(path, json={"notes": "by cookie"}, headers=csrf)
        assert done.status_code == 200 and done.json()["notes"] == "by cookie"


# --- metadata filters on search, ask and chat ------------------------------------------------


def test_a_filtered_search_returns_k_hits_from_the_matching_documents(server, setup):
    ids = setup["ids"]
    core = set(ids[:CORE])
    with client(server, setup, "vic") as http:

        def hits(**body) -> list[int]:
            response = http.post("/api/v1/domains/papers/search", json=body)
            assert response.status_code == 200, response.text
            return [h["document_id"] for h in response.json()["hits"]]

        # unfiltered, the bio documents come first for a bio question
        assert set(hits(query="protein structures and yeast genes", k=3)) - core
        for mode in ("hybrid", "dense"):
            found = hits(query="protein structures and yeast genes", k=5, mode=mode, tags=["econ"])
            assert len(found) == 5 and set(found) <= core, (mode, found)
        # full text: "rates" is in documents 0, 2 and 3; Ada Lovelace wrote 0 and 2
        assert ids[3] in hits(query="rates", k=10, mode="text")
        found = hits(query="rates", k=3, mode="text", author="lovelace")
        assert len(found) == 3 and set(found) == {ids[0], ids[2]}, found
        by_year = hits(query="rates", k=10, years="2018..2019")
        assert set(by_year) == {ids[0], ids[1]} and len(by_year) == 4  # every chunk of two
        assert set(hits(query="rates", k=10, years=2019)) == {ids[1]}
        assert set(hits(query="rates", k=10, author="hopper", tags=["t3"])) == {ids[3]}
        assert set(hits(query="rates", k=10, identifier="doi:10.1234/paper.2")) == {ids[2]}
        for body, status, code in (
            ({"years": "2024..2020"}, 400, "catalog_error"),
            ({"author": "\x00"}, 400, "catalog_error"),
            ({"collection": "no such"}, 404, "collection_not_found"),
            ({"tags": [f"t{i}" for i in range(10_000)]}, 422, "invalid_request"),
            ({"years": 99999}, 422, "invalid_request"),
            ({"where": {"tags": ["econ"]}}, 422, "invalid_request"),
        ):
            response = http.post("/api/v1/domains/papers/search", json={"query": "x", **body})
            assert response.status_code == status, (body, response.text[:300])
            assert error_of(response)["code"] == code


def test_ask_and_chat_take_the_filter(server, setup):
    econ = {f"mem://papers/{i}.txt" for i in range(CORE)} | {"mem://papers/copy-of-0.txt"}
    with client(server, setup, "vic") as http:
        question = {"question": "What do attention models predict?", "tags": ["econ"]}
        answer = http.post("/api/v1/domains/papers/ask", json=question)
        assert answer.status_code == 200, answer.text
        cited = {c["source_uri"] for c in answer.json()["citations"]}
        assert cited <= econ, cited
        unfiltered = http.post(
            "/api/v1/domains/papers/ask", json={"question": question["question"]}
        )
        assert "mem://papers/4.txt" in {c["source_uri"] for c in unfiltered.json()["citations"]}
        refused = http.post(
            "/api/v1/domains/papers/ask?stream=true", json={**question, "collection": "nope"}
        )
        assert refused.status_code == 404 and error_of(refused)["code"] == "collection_not_found"

        sid = http.post("/api/v1/domains/papers/chats", json={}).json()["id"]
        turn = http.post(
            f"/api/v1/chats/{sid}/messages",
            json={"question": "Which cells change gene expression?", "years": "2018..2021"},
        )
        assert turn.status_code == 200, turn.text
        allowed = {f"mem://papers/{i}.txt" for i in range(4)} | {"mem://papers/copy-of-0.txt"}
        assert {c["source_uri"] for c in turn.json()["citations"]} <= allowed
        bad = http.post(f"/api/v1/chats/{sid}/messages", json={"question": "x", "years": "later"})
        assert bad.status_code == 400 and error_of(bad)["code"] == "catalog_error"
        unknown = http.post(
            f"/api/v1/chats/{sid}/messages?stream=true",
            json={"question": "x", "collection": "nope"},
        )  # before any stream: the JSON 404
        assert unknown.status_code == 404
        assert error_of(unknown)["code"] == "collection_not_found"
