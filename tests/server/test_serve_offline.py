"""``tidyllm serve`` on the offline defaults makes no outbound call, over a user's whole visit.

A real server process (its background drop-zone worker on, the MLflow background flush
on, the telemetry markers of CI and pytest removed) runs under the ``sitecustomize``
audit hook of ``tests/outbound_audit.py``, which records every ``getaddrinfo`` /
``connect`` to a non-loopback address from the server and every process it starts
(uvicorn's ``--workers`` processes, the flush). The visit goes through login, a domain,
an upload processed to ``done`` by the server's worker, search, ask (JSON and streamed),
a chat turn, ``/metrics``, ``/readyz``, the docs page with its assets and the schema,
logout; then SIGTERM. The hook's own start and end records show it ran in the server.
"""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
from server_helpers import Server, free_port, stop_server, wait_until_up

from outbound_audit import audited_env, records, running, wait_for_children
from tidyllm.access import add_user
from tidyllm.session import UnifiedSessionManager

PASSWORD = "correct horse battery staple"
POLICY = (
    b"Travel policy. Employees book economy class for flights under six hours. "
    b"Hotel costs are reimbursed up to 180 dollars per night in large cities.\n"
)
CLI = (sys.executable, "-c", "from tidyllm.cli.main import run; run()")
PROGRESS_BOUND = 180.0  # seconds without a state change before the poll gives up


def start_audited(tmp_path, data_dir, database_url, *args: str) -> tuple[Server, object]:
    env, audit = audited_env(tmp_path)
    env.update(TIDYLLM_DATA_DIR=str(data_dir), DATABASE_URL=database_url)
    port = free_port()
    log = tmp_path / f"serve-{port}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*CLI, "serve", "--port", str(port), *args],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server = Server(f"http://127.0.0.1:{port}", process, log, data_dir, database_url)
    wait_until_up(server)
    return server, audit


def visit(server: Server) -> None:
    """What a user does in a browser, by session cookie and CSRF token."""
    with server.client() as http:
        login = http.post("/api/v1/login", json={"name": "ada", "password": PASSWORD})
        assert login.status_code == 200, login.text
        http.headers["X-CSRF-Token"] = login.json()["user"]["csrf_token"]
        assert http.post("/api/v1/domains", json={"name": "policies"}).status_code == 201
        uploaded = http.post(
            "/api/v1/domains/policies/uploads",
            files={"file": ("policy.txt", POLICY, "text/plain")},
        )
        assert uploaded.status_code == 201, uploaded.text
        (stored,) = uploaded.json()["files"]
        state, seen, last_change = None, None, time.monotonic()
        while state not in ("done", "failed", "dead", "duplicate"):
            body = http.get(f"/api/v1/uploads/{stored['id']}").json()
            state = body["state"]
            if (state, len(body["events"])) != seen:
                seen, last_change = (state, len(body["events"])), time.monotonic()
            assert time.monotonic() - last_change < PROGRESS_BOUND, server.log.read_text()
            assert server.process.poll() is None, server.log.read_text()
            time.sleep(0.3)
        assert state == "done", body
        found = http.post("/api/v1/domains/policies/search", json={"query": "hotel night"})
        assert found.status_code == 200 and found.json()["hits"], found.text
        question = {"question": "How much is a hotel night reimbursed?"}
        asked = http.post("/api/v1/domains/policies/ask", json=question)
        assert asked.status_code == 200 and "180" in asked.json()["text"], asked.text
        streamed = http.post("/api/v1/domains/policies/ask?stream=true", json=question)
        assert streamed.status_code == 200 and "event: done" in streamed.text, streamed.text
        chat = http.post("/api/v1/domains/policies/chats", json={})
        assert chat.status_code == 201, chat.text
        turn = http.post(
            f"/api/v1/chats/{chat.json()['id']}/messages",
            json={"question": "Which class do employees book?"},
        )
        assert turn.status_code == 200 and "economy" in turn.json()["text"], turn.text
        metrics = http.get("/metrics")
        assert metrics.status_code == 200 and "tidyllm_http_requests_total" in metrics.text
        # once seen 503 "mlflow down" for a moment while the background flush was (it seems)
        # creating the local MLflow store; readiness is not what this test is about
        deadline = time.monotonic() + 60
        while (ready := http.get("/readyz")).status_code != 200 and time.monotonic() < deadline:
            time.sleep(1)
        assert ready.status_code == 200, ready.text
        for path in (
            "/api/docs",
            "/api/docs/start.js",
            "/api/docs/static/swagger-ui-bundle.js",
            "/api/docs/static/swagger-ui.css",
            "/api/v1/openapi.json",
        ):
            assert http.get(path).status_code == 200, path
        assert http.post("/api/v1/logout").status_code in (200, 204)


@pytest.mark.parametrize("workers", ["1", "2"])
def test_serve_with_its_worker_makes_no_outbound_call(tmp_path, data_dir, database_url, workers):
    with UnifiedSessionManager(data_dir=data_dir, database={"url": database_url}) as sm:
        add_user(sm, "ada", "admin", PASSWORD)
    server, audit = start_audited(tmp_path, data_dir, database_url, "--workers", workers)
    try:
        visit(server)
    finally:
        code = stop_server(server)
    log = server.log.read_text()
    assert code == 0, log
    assert "Traceback" not in log
    wait_for_children(audit)  # the flushes the server started, too

    started = records(audit, "started.jsonl")
    ended = {r["pid"] for r in records(audit, "ended.jsonl")}
    (serve,) = [r for r in started if "serve" in r["argv"]]
    assert serve["pid"] == server.process.pid and serve["pid"] in ended  # the hook was there
    if workers == "2":  # uvicorn's server processes are spawned children: hooked as well
        # (no exit record: they end by re-raising SIGTERM after their shutdown completed)
        spawned = [r for r in started if "--multiprocessing-fork" in r["argv"]]
        assert len(spawned) == 2 and not any(running(r["pid"]) for r in spawned), started
    assert records(audit, "outbound.jsonl") == []
