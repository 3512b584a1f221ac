"""Issue 11's "Must show" journey over HTTP, against a real ``tidyllm serve`` with its worker.

One test per object store, on a fresh database: ``local`` (the default, the domain's ingest
zone under DATA/ingest/) and ``s3`` (only ``object_store`` in the settings file, on a bucket
of the moto server: the domain's implicit ingest zone follows it to
``s3://<bucket>/ingest/<domain>/``, no zone is declared).

The operator creates two users and grants one of them the domain with the CLI (as the issue
says: the CLI stays the operator's tool, there is no grant route); everything else is a
browser's traffic: a cookie login, then X-CSRF-Token on every state-changing request. ada
(admin) creates the domain; eve (editor), once granted, uploads the Federal Reserve report
and the scanned patent in one request, follows both to their end, searches, asks, chats,
and downloads the report again. ada finally reads the audit.
"""

from __future__ import annotations

import hashlib
import subprocess
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from server_helpers import TIDYLLM, Server, error_of, server_env, start_server, stop_server

from corpus_facts import ASK, CHAT, FOLLOW_UP, SEARCH, no_text_layer_error
from corpus_paths import FED_PDF, PATENT_PDF

PASSWORD = "correct horse battery staple"
DOMAIN = "journey"

PROGRESS_BOUND = 600.0  # seconds a file may show no new state or event before the poll fails
FINAL = ("done", "failed", "dead", "duplicate")


# -- the operator's part: the CLI, with the server's environment ------------------------------


def operator(server: Server, *args: str, stdin: str | None = None) -> str:
    """Run ``tidyllm ARGS`` as the operator of ``server`` (same data folder and database)."""
    done = subprocess.run(
        [TIDYLLM, *args],
        env=server_env(server.data_dir, server.database_url),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, f"tidyllm {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


# -- the browser's part -----------------------------------------------------------------------


@dataclass
class Browser:
    """A logged-in cookie session; state-changing calls carry the session's CSRF token."""

    http: httpx.Client
    csrf: str

    def get(self, path: str, **kw) -> httpx.Response:
        return self.http.get(path, **kw)

    def send(self, method: str, path: str, **kw) -> httpx.Response:
        return self.http.request(method, path, headers={"X-CSRF-Token": self.csrf}, **kw)

    def post(self, path: str, **kw) -> httpx.Response:
        return self.send("POST", path, **kw)


def log_in(server: Server, name: str, clients: ExitStack) -> Browser:
    http = clients.enter_context(httpx.Client(base_url=server.url, timeout=300))
    response = http.post("/api/v1/login", json={"name": name, "password": PASSWORD})
    assert response.status_code == 200, response.text
    assert "tidyllm_session" in http.cookies  # HttpOnly cookie, kept by the client's jar
    user = response.json()["user"]
    assert (user["name"], user["auth"]) == (name, "session")
    return Browser(http, user["csrf_token"])


def wait_until_final(server: Server, who: Browser, file_id: int) -> dict:
    """Poll the upload until it is final; fail only when its history stops moving."""
    seen, last_change = None, time.monotonic()
    while True:
        response = who.get(f"/api/v1/uploads/{file_id}")
        assert response.status_code == 200, response.text
        body = response.json()
        if body["state"] in FINAL:
            return body
        progress = (body["state"], body["attempts"], len(body["events"]))
        if progress != seen:
            seen, last_change = progress, time.monotonic()
        assert time.monotonic() - last_change < PROGRESS_BOUND, (
            f"no progress on upload {file_id}: {body}\n{server.log.read_text()}"
        )
        assert server.process.poll() is None, server.log.read_text()
        time.sleep(1.0)


def sha256_of(chunks) -> str:
    digest = hashlib.sha256()
    for chunk in chunks:
        digest.update(chunk)
    return digest.hexdigest()


# -- the object stores ------------------------------------------------------------------------


# Each gives a function listing every key of the domain's ingest zone, under the zone's root.
Keys = Callable[[], list[str]]


def local_store(tmp: Path) -> Keys:
    """The default: the domain's ingest zone is the folder DATA/ingest/<domain>/."""
    root = tmp / "data" / "ingest" / DOMAIN

    def keys() -> list[str]:
        files = (p for p in root.rglob("*") if p.is_file() and ".tidyllm-meta" not in p.parts)
        return sorted(str(p.relative_to(root)) for p in files)

    return keys


def s3_store(request: pytest.FixtureRequest, tmp: Path, monkeypatch) -> Keys:
    """``object_store`` on a fresh moto bucket, through a settings file that declares no
    zone: the domain's implicit ingest zone is then ``s3://<bucket>/ingest/<domain>/``."""
    import boto3

    moto = request.getfixturevalue("moto_s3")
    bucket = request.getfixturevalue("s3_bucket")  # also sets the AWS credentials
    prefix = f"ingest/{DOMAIN}/"
    config = tmp / "tidyllm.yaml"
    config.write_text(f"object_store:\n  bucket: {bucket}\n  endpoint_url: {moto.url}\n")
    monkeypatch.setenv("TIDYLLM_CONFIG", str(config))  # the server's and the operator's
    s3 = boto3.client("s3", endpoint_url=moto.url, region_name="us-east-1")

    def keys() -> list[str]:
        pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        return sorted(o["Key"][len(prefix) :] for p in pages for o in p.get("Contents", []))

    return keys


# -- the journey ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["local", "s3"])
def test_a_user_s_journey_over_http(kind, request, tmp_path, database_url, monkeypatch):
    store_keys = s3_store(request, tmp_path, monkeypatch) if kind == "s3" else local_store(tmp_path)
    started = time.monotonic()
    server = start_server(tmp_path, database_url)  # the background worker is on
    clients = ExitStack()
    try:
        # The operator: an admin and an editor (CLI, password on stdin).
        operator(
            server, "users", "add", "ada", "--role", "admin", "--password-stdin", stdin=PASSWORD
        )
        operator(
            server, "users", "add", "eve", "--role", "editor", "--password-stdin", stdin=PASSWORD
        )

        # 1-2. ada logs in and creates the domain; without the CSRF token she cannot.
        ada = log_in(server, "ada", clients)
        refused = ada.http.post("/api/v1/domains", json={"name": DOMAIN})
        assert refused.status_code == 403 and error_of(refused)["code"] == "csrf_rejected"
        created = ada.post("/api/v1/domains", json={"name": DOMAIN, "description": "Fed OIG"})
        assert created.status_code == 201, created.text
        assert created.json()["documents"] == 0

        # eve sees no domain until the operator grants it to her; then she is its editor.
        eve = log_in(server, "eve", clients)
        hidden = eve.get(f"/api/v1/domains/{DOMAIN}")
        assert hidden.status_code == 404 and error_of(hidden)["code"] == "domain_not_found"
        operator(server, "grants", "add", DOMAIN, "--user", "eve", "--role", "editor")
        assert eve.get(f"/api/v1/domains/{DOMAIN}").status_code == 200

        # 3. Both PDFs in one multipart request.
        with FED_PDF.open("rb") as fed, PATENT_PDF.open("rb") as patent:
            files = [
                ("file", (FED_PDF.name, fed, "application/pdf")),
                ("file", (PATENT_PDF.name, patent, "application/pdf")),
            ]
            uploaded = eve.post(f"/api/v1/domains/{DOMAIN}/uploads", files=files)
        assert uploaded.status_code == 201, uploaded.text
        fed_up, patent_up = uploaded.json()["files"]
        assert (fed_up["name"], fed_up["size"]) == (FED_PDF.name, FED_PDF.stat().st_size)
        assert (patent_up["name"], patent_up["size"]) == (
            PATENT_PDF.name,
            PATENT_PDF.stat().st_size,
        )
        assert fed_up["content_type"] == patent_up["content_type"] == "application/pdf"

        # 4. Both reach their end: the report indexed, the scan refused with what to do.
        fed_final = wait_until_final(server, eve, fed_up["id"])
        patent_final = wait_until_final(server, eve, patent_up["id"])
        assert fed_final["state"] == "done", fed_final
        assert patent_final["state"] == "failed", patent_final
        error = patent_final["error"]
        assert error["code"] == "no_text_layer", error
        assert (error["message"], error["hint"]) == no_text_layer_error()
        kinds = [e["kind"] for e in patent_final["events"]]
        assert kinds[0] == "detected" and "claimed" in kinds and kinds[-1] == "failed", kinds
        assert {"detected", "claimed", "done"} <= {e["kind"] for e in fed_final["events"]}
        # where the files are now, in the store of this variant
        keys = store_keys()
        fed_key = fed_final["events"][-1]["detail"]["dest_key"]
        patent_key = patent_final["events"][-1]["detail"]["dest_key"]
        assert fed_key.startswith("processed/upload/") and fed_key in keys, (fed_key, keys)
        assert patent_key.startswith("failed/upload/") and patent_key in keys, (patent_key, keys)
        assert not [k for k in keys if k.startswith("incoming/")], keys
        if kind == "s3":  # nothing of the domain went to the local disk
            assert not (server.data_dir / "ingest").exists()

        # 5. Search finds the page that holds the answer.
        query, page = SEARCH
        found = eve.post(f"/api/v1/domains/{DOMAIN}/search", json={"query": query, "k": 5})
        assert found.status_code == 200, found.text
        hits = found.json()["hits"]
        assert page in [h["page"] for h in hits], [(h["page"], h["text"][:60]) for h in hits]
        assert hits[0]["page"] == page

        # 6. Ask: the answer cites the page of its answer.
        question, page = ASK
        asked = eve.post(f"/api/v1/domains/{DOMAIN}/ask", json={"question": question})
        assert asked.status_code == 200, asked.text
        answer = asked.json()
        assert answer["found"] and "85" in answer["text"], answer
        assert page in [c["page"] for c in answer["citations"]], answer["citations"]
        assert all(c["quote"] for c in answer["citations"])

        # 7. Chat: a follow-up that only makes sense after the first turn.
        opened = eve.post(f"/api/v1/domains/{DOMAIN}/chats", json={})
        assert opened.status_code == 201, opened.text
        chat = opened.json()["id"]
        question, page = CHAT
        first = eve.post(f"/api/v1/chats/{chat}/messages", json={"question": question})
        assert first.status_code == 200, first.text
        first = first.json()
        assert first["found"] and "two-year" in first["text"], first
        assert first["citations"][0]["page"] == page
        follow = eve.post(f"/api/v1/chats/{chat}/messages", json={"question": FOLLOW_UP})
        assert follow.status_code == 200, follow.text
        follow = follow.json()
        assert follow["retrieval_query"] == f"{question} {FOLLOW_UP}"
        assert follow["found"] and follow["citations"][0]["page"] == page, follow
        history = eve.get(f"/api/v1/chats/{chat}/messages").json()
        assert [m["role"] for m in history] == ["user", "assistant", "user", "assistant"]

        # 8. Download the report again: the same bytes, typed, under a safe name.
        listed = eve.get(f"/api/v1/domains/{DOMAIN}/documents")
        assert listed.status_code == 200, listed.text
        (document,) = listed.json()["documents"]  # the patent made no document
        assert document["file_id"] == fed_up["id"] and document["state"] == "indexed"
        with eve.http.stream(
            "GET", f"/api/v1/domains/{DOMAIN}/documents/{document['id']}/original"
        ) as original:
            assert original.status_code == 200
            assert original.headers["content-type"] == "application/pdf"
            assert original.headers["content-disposition"] == (
                f"attachment; filename=\"{FED_PDF.name}\"; filename*=UTF-8''{FED_PDF.name}"
            )
            assert original.headers["content-length"] == str(FED_PDF.stat().st_size)
            downloaded = sha256_of(original.iter_bytes())
        assert downloaded == sha256_of([FED_PDF.read_bytes()])

        # The ledger still tells why the patent failed, and the audit who did what.
        again = eve.get(f"/api/v1/uploads/{patent_up['id']}").json()
        assert again["state"] == "failed" and again["error"] == error
        assert eve.get("/api/v1/audit").status_code == 403  # admins only
        audit = ada.get("/api/v1/audit")
        assert audit.status_code == 200, audit.text
        events = [(e["actor_name"], e["action"], e["target"]) for e in audit.json()]
        assert ("ada", "login.success", "user:ada") in events
        assert ("eve", "login.success", "user:eve") in events
        assert ("ada", "domain.create", f"domain:{DOMAIN}") in events
        assert any(a == "grant.add" and t == f"domain:{DOMAIN} user:eve" for _, a, t in events)
        stored = [e["detail"] for e in audit.json() if e["action"] == "upload.store"]
        assert [(d["file_id"], d["name"]) for d in stored] == [
            (fed_up["id"], FED_PDF.name),
            (patent_up["id"], PATENT_PDF.name),
        ]
        assert {e["actor_name"] for e in audit.json() if e["action"] == "upload.store"} == {"eve"}
        for browser in (ada, eve):
            assert browser.post("/api/v1/logout").status_code == 204
    finally:
        clients.close()
        code = stop_server(server)
    print(f"\n{kind}: journey in {time.monotonic() - started:.0f} s")
    assert code == 0, server.log.read_text()
    assert "Traceback" not in server.log.read_text()
