"""Settings secrets never reach a ``tidyllm serve`` response or its log.

A real server runs with every secret setting holding a canary, each from a different
source: the database password inside the database URL and (``secret:NAME``) in the
encrypted credential store, the LLM API key from the environment and inside the LLM
endpoint URL, the embedder API key through ``TIDYLLM_SECRET_<NAME>``, ``web.api_token``
from the environment, the AWS secret key read by boto3's chain (the object store on the
moto server, probed by readiness), the MLflow password inside an unreachable tracking
URI, MLflow's token and password variables, and the credential store's master key
itself. The server starts, then every kind of response is collected: health and
readiness (a service down, said without its settings), the OpenAPI schema, the docs
page, the web pages, 401, 404, 405, 422, 400, 503 from an unreachable LLM, stored and
refused uploads, search, metrics and the audit. No canary in any of them, in any
header, in the server's DEBUG log, or in any file the server wrote
(tests/security/test_canary_secrets.py: the library and CLI side;
tests/server/test_metrics_audit_api.py: passwords, session ids and tokens).
"""

from __future__ import annotations

import io
import os
import uuid
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet
from server_helpers import Server, error_of, index_pages, start_server, stop_server

from tidyllm.access import add_grant, add_user, create_token
from tidyllm.credentials import CredentialStore

DB_URL_PASSWORD = "canaryUrlPw-3d9c71"
STORE_PASSWORD = "canaryStorePw-a41e0b"
LLM_KEY = "canaryLlmKey-0f6b2e"
LLM_URL_PASSWORD = "canaryLlmUrlPw-9e24d7"
EMBED_KEY = "canaryEmbedKey-58a1c3"
WEB_TOKEN = "canaryWebToken-c70f19"
AWS_SECRET = "canaryAwsSecret-1b8e64"
MLFLOW_URL_PASSWORD = "canaryMlflowUrlPw-6a0d35"
MLFLOW_TOKEN = "canaryMlflowToken-2c5f8a"
MLFLOW_PASSWORD = "canaryMlflowPw-e3b907"
MASTER_KEY = Fernet.generate_key().decode()  # a real key: the store must open with it
CANARIES = (
    DB_URL_PASSWORD,
    STORE_PASSWORD,
    LLM_KEY,
    LLM_URL_PASSWORD,
    EMBED_KEY,
    WEB_TOKEN,
    AWS_SECRET,
    MLFLOW_URL_PASSWORD,
    MLFLOW_TOKEN,
    MLFLOW_PASSWORD,
    MASTER_KEY,
)
PASSWORD = "correct horse battery staple"
QUESTION = "When did model validation at the Federal Reserve end?"
SEEN: list[tuple[str, str]] = []  # (what, text) of every response, for the checks


def leaks(text: str) -> list[str]:
    return [canary for canary in CANARIES if canary in text]


def keep(what: str, response: httpx.Response) -> httpx.Response:
    headers = "\n".join(f"{k}: {v}" for k, v in response.headers.items())
    SEEN.append((f"{what} -> {response.status_code}", f"{headers}\n\n{response.text}"))
    return response


@contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    """``os.environ`` with ``values`` (what start_server hands to the server), restored."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def canary_settings(data_dir: Path, moto_url: str, bucket: str) -> dict[str, str]:
    return {
        "TIDYLLM_MASTER_KEY": MASTER_KEY,
        "TIDYLLM_DATABASE__PASSWORD": "secret:db_password",  # in the credential store
        "TIDYLLM_LLM__PROVIDER": "openai",
        "TIDYLLM_LLM__MODEL": "gpt-canary",
        # nothing listens on port 9: an ask fails, and says so without the key or password
        "TIDYLLM_LLM__ENDPOINT": f"http://llm:{LLM_URL_PASSWORD}@127.0.0.1:9/v1",
        "TIDYLLM_LLM__API_KEY": LLM_KEY,
        "TIDYLLM_LLM__TIMEOUT": "5",
        "TIDYLLM_EMBEDDER__API_KEY": "secret:embed_key",
        "TIDYLLM_SECRET_EMBED_KEY": EMBED_KEY,
        "TIDYLLM_WEB__API_TOKEN": WEB_TOKEN,
        "AWS_ACCESS_KEY_ID": "canary-access-key-id",
        "AWS_SECRET_ACCESS_KEY": AWS_SECRET,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL_S3": moto_url,
        "TIDYLLM_OBJECT_STORE__BUCKET": bucket,
        # unreachable (port 9): readiness says MLflow is down, runs are buffered
        "TIDYLLM_MLFLOW__TRACKING_URI": f"http://ml:{MLFLOW_URL_PASSWORD}@127.0.0.1:9",
        "MLFLOW_TRACKING_TOKEN": MLFLOW_TOKEN,
        "MLFLOW_TRACKING_USERNAME": "ml",
        "MLFLOW_TRACKING_PASSWORD": MLFLOW_PASSWORD,
        "TIDYLLM_LOG_LEVEL": "DEBUG",
    }


@pytest.fixture(scope="module")
def canary_server(tmp_path_factory, module_database, moto_s3) -> Iterator[tuple[Server, dict]]:
    import boto3

    tmp = tmp_path_factory.mktemp("canary")
    data_dir = tmp / "data"
    data_dir.mkdir()
    bucket = f"canary-{uuid.uuid4().hex[:12]}"
    boto3.client(
        "s3",
        endpoint_url=moto_s3.url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing-secret",
    ).create_bucket(Bucket=bucket)
    settings = canary_settings(data_dir, moto_s3.url, bucket)
    CredentialStore(data_dir, environ=settings).set("db_password", STORE_PASSWORD)
    # the embedded server trusts local connections: any password is accepted
    assert "postgresql://postgres:@" in module_database
    url = module_database.replace(
        "postgresql://postgres:@", f"postgresql://postgres:{DB_URL_PASSWORD}@"
    )
    with environment(settings):
        server = start_server(tmp, url, "--no-worker")
    try:
        yield server, settings
    finally:
        stop_server(server)


@pytest.fixture(scope="module")
def tokens(canary_server) -> dict[str, str]:
    """ada admin and vic viewer, and a domain ``fed`` with one indexed page."""
    from tidyllm.session import UnifiedSessionManager

    server, settings = canary_server
    with (
        environment(settings),
        UnifiedSessionManager(
            data_dir=server.data_dir, database={"url": server.database_url}
        ) as sm,
    ):
        out = {}
        for name, role in (("ada", "admin"), ("vic", "viewer")):
            add_user(sm, name, role, PASSWORD)
            out[name] = create_token(sm, name, "canary").secret
        index_pages(sm, "fed", ["Model validation at the Federal Reserve ended in March 2015."])
        add_grant(sm, "fed", user="vic", role="viewer")
    return out


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("inside.txt", "not a pdf")
    return buffer.getvalue()


def test_the_server_starts_and_no_response_carries_a_settings_secret(canary_server, tokens):
    server, _ = canary_server
    with server.client() as anonymous:
        assert keep("healthz", anonymous.get("/healthz")).status_code == 200
        ready = keep("readyz", anonymous.get("/readyz"))
        assert ready.status_code == 503, ready.text  # MLflow is unreachable, and says so
        assert ready.json()["ready"] is False, ready.text
        # every secret-bearing service was really used: S3 signed with the canary AWS key,
        # PostgreSQL with the canary passwords, the store opened with the canary master key;
        # MLflow and the LLM are unreachable, and /readyz says only that
        assert ready.json()["services"] == {
            "object store": "ok",
            "database": "ok",
            "mlflow": "down",
            "llm": "down",
            "embedder": "ok",
            "credentials": "ok",
        }, ready.text
        assert keep("openapi", anonymous.get("/api/v1/openapi.json")).status_code == 200
        assert keep("docs", anonymous.get("/api/docs")).status_code == 200
        for page in ("/", "/login"):
            keep(f"web {page}", anonymous.get(page))
        assert keep("no token", anonymous.get("/api/v1/domains")).status_code == 401
        bad = anonymous.get("/api/v1/domains", headers={"Authorization": "Bearer nope"})
        assert keep("bad token", bad).status_code == 401
        login = anonymous.post("/api/v1/login", json={"name": "ada", "password": "wrong"})
        assert keep("wrong password", login).status_code == 401
    with server.client(tokens["ada"]) as http:
        assert keep("no route", http.get("/api/v1/nowhere")).status_code == 404
        assert keep("no domain", http.get("/api/v1/domains/nowhere")).status_code == 404
        assert keep("method", http.put("/api/v1/domains")).status_code == 405
        bad_json = http.post(
            "/api/v1/domains/fed/search",
            content=b"{not json",
            headers={"content-type": "application/json"},
        )
        assert keep("bad json", bad_json).status_code == 422
        assert keep("bad k", http.post("/api/v1/domains/fed/search", json={"query": "x", "k": -1}))
        found = keep(
            "search", http.post("/api/v1/domains/fed/search", json={"query": "validation"})
        )
        assert found.status_code == 200 and found.json()["hits"], found.text
        asked = keep("ask", http.post("/api/v1/domains/fed/ask", json={"question": QUESTION}))
        assert asked.status_code >= 500, asked.text  # the LLM endpoint is unreachable
        assert error_of(asked)["message"]
        streamed = http.post(
            "/api/v1/domains/fed/ask", json={"question": QUESTION}, params={"stream": "true"}
        )
        assert keep("ask stream", streamed).status_code == 200
        assert "event: error" in streamed.text, streamed.text  # the same failure, as an event
        stored = http.post(
            "/api/v1/domains/fed/uploads", files={"file": ("note.txt", b"March 2015\n", "")}
        )
        assert keep("upload", stored).status_code == 201, stored.text
        file_id = stored.json()["files"][0]["id"]
        assert keep("upload state", http.get(f"/api/v1/uploads/{file_id}")).status_code == 200
        refused = http.post("/api/v1/domains/fed/uploads", files={"file": ("r.pdf", _zip(), "")})
        assert keep("refused upload", refused).status_code == 400
        for path in (
            "/api/v1/domains",
            "/api/v1/domains/fed",
            "/api/v1/domains/fed/documents",
            "/api/v1/zones",
            "/api/v1/me",
            "/api/v1/tokens",
            "/api/v1/audit",
            "/metrics",
        ):
            assert keep(path, http.get(path)).status_code == 200, path
    with server.client(tokens["vic"]) as http:
        denied = http.post("/api/v1/domains/fed/uploads", files={"file": ("v.txt", b"x\n", "")})
        assert keep("viewer upload", denied).status_code == 403
        assert keep("viewer metrics", http.get("/metrics")).status_code == 403
    assert len(SEEN) >= 30
    leaked = {what: leaks(text) for what, text in SEEN if leaks(text)}
    assert not leaked, f"settings secrets in responses: {leaked}"


def test_no_settings_secret_in_the_server_log_or_its_files(canary_server, tokens):
    """Runs last: stops the server so the log is complete (the shutdown included)."""
    server, _ = canary_server
    assert stop_server(server) == 0, server.log.read_text(errors="replace")
    log = server.log.read_text(errors="replace")
    assert "/api/v1/domains/fed/ask" in log  # the log is the real one, with the requests
    assert leaks(log) == [], "a settings secret reached the server log"
    kept = ("credentials.enc", "master.key")  # the store is encrypted; checked below
    for path in server.data_dir.rglob("*"):
        if path.is_file() and path.name not in kept:
            found = leaks(path.read_bytes().decode("latin-1"))
            assert not found, f"{found} in {path.relative_to(server.data_dir)}"
    store = (server.data_dir / "credentials.enc").read_bytes()
    assert STORE_PASSWORD.encode() not in store and MASTER_KEY.encode() not in store
