"""Client constructors: the only code in TidyLLM that builds boto3, psycopg and MLflow clients.

Each function takes settings and returns a ready client. They are called by
:class:`~tidyllm.session.manager.UnifiedSessionManager`, which caches the
results and owns their lifecycle.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psycopg
from pgvector.psycopg import register_vector
from psycopg_pool import ConnectionPool

from tidyllm.credentials import CredentialStore, resolve_secret
from tidyllm.db import apply_migrations, connection_params, ensure_embedded
from tidyllm.errors import DatabaseError, ServiceUnavailable, SettingsError
from tidyllm.redaction import redact, register_secret
from tidyllm.settings import Settings
from tidyllm.tracking.outbox import disable_mlflow_telemetry

if TYPE_CHECKING:  # boto3/botocore take 0.3-1 s to import: only commands that use AWS pay it
    import boto3

log = logging.getLogger(__name__)


# --- AWS -------------------------------------------------------------------------------------


def boto3_session(settings: Settings) -> boto3.Session:
    """A boto3 session: boto3's own credential chain, optionally pinned to a profile."""
    import boto3
    from botocore.exceptions import ProfileNotFound

    try:
        return boto3.Session(
            profile_name=settings.object_store.profile, region_name=settings.object_store.region
        )
    except ProfileNotFound as exc:
        raise SettingsError(f"object_store.profile: {exc}") from None


def aws_credential_source(session: boto3.Session) -> str:
    """Which link of boto3's chain supplied credentials (env, shared-credentials-file, sso, ...).

    Registers the resolved secret key and session token for redaction.
    """
    from botocore.exceptions import BotoCoreError

    try:
        creds = session.get_credentials()
    except BotoCoreError as exc:
        return f"error: {redact(exc)}"
    if creds is None:
        return "none found"
    frozen = creds.get_frozen_credentials()
    register_secret(frozen.secret_key)
    register_secret(frozen.token)
    return creds.method or "unknown"


def s3_client(session: boto3.Session, settings: Settings) -> Any:
    """An S3 client with adaptive retries and bounded timeouts."""
    from botocore.config import Config as BotoConfig

    store = settings.object_store
    config = BotoConfig(
        connect_timeout=store.connect_timeout,
        read_timeout=store.read_timeout,
        retries={"max_attempts": store.max_attempts, "mode": "adaptive"},
    )
    return session.client("s3", endpoint_url=store.endpoint_url, config=config)


def sqs_client(session: boto3.Session, settings: Settings) -> Any:
    """An SQS client (same endpoint override convention as S3: AWS_ENDPOINT_URL_SQS)."""
    from botocore.config import Config as BotoConfig

    config = BotoConfig(
        connect_timeout=settings.object_store.connect_timeout,
        retries={"max_attempts": settings.object_store.max_attempts, "mode": "adaptive"},
    )
    return session.client("sqs", config=config)


def bedrock_client(session: boto3.Session, settings: Settings, *, control: bool = False) -> Any:
    """A Bedrock runtime client (``control=True``: the control plane, for model access checks)."""
    from botocore.config import Config as BotoConfig

    config = BotoConfig(
        read_timeout=settings.llm.timeout, retries={"max_attempts": 8, "mode": "adaptive"}
    )
    service = "bedrock" if control else "bedrock-runtime"
    region = settings.llm.region or settings.object_store.region
    return session.client(service, region_name=region, config=config)


# --- PostgreSQL ------------------------------------------------------------------------------


def database_target(settings: Settings) -> tuple[dict[str, Any], str]:
    """Connection parameters and a label saying where they came from."""
    db = settings.database
    if db.url or db.host:
        return connection_params(db, db.url), "configured"
    return ensure_embedded(settings.data_dir), "embedded"


def password_kwargs(settings: Settings, store: CredentialStore) -> Callable[[], dict[str, Any]]:
    """Per-connect keyword arguments: the password is resolved at every connect (rotation)."""

    def kwargs() -> dict[str, Any]:
        password = resolve_secret(settings.database.password, store)
        return {"password": password} if password is not None else {}

    return kwargs


def _configure(conn: psycopg.Connection) -> None:
    register_vector(conn)


def connect_once(params: dict[str, Any], extra: Callable[[], dict[str, Any]]) -> psycopg.Connection:
    """One direct connection (for migrations and health), with errors redacted."""
    try:
        return psycopg.connect(**{**params, **extra()}, autocommit=True)
    except psycopg.Error as exc:
        raise ServiceUnavailable("PostgreSQL", redact(exc).strip()) from None


def migrate(params: dict[str, Any], extra: Callable[[], dict[str, Any]]) -> list[str]:
    """Apply pending migrations over a short-lived connection."""
    with connect_once(params, extra) as conn:
        try:
            return apply_migrations(conn)
        except psycopg.Error as exc:
            raise DatabaseError(f"applying migrations failed: {redact(exc)}") from None


def connection_pool(
    params: dict[str, Any], extra: Callable[[], dict[str, Any]], settings: Settings
) -> ConnectionPool:
    """A pool that checks each connection on checkout and renews connections periodically."""
    db = settings.database

    def kwargs() -> dict[str, Any]:
        return {**params, **extra()}

    pool = ConnectionPool(
        kwargs=kwargs,
        min_size=min(db.pool_min, db.pool_max),
        max_size=db.pool_max,
        timeout=db.pool_timeout,
        max_lifetime=db.max_lifetime,
        reconnect_timeout=max(db.pool_timeout, 60.0),
        check=ConnectionPool.check_connection,
        configure=_configure,
        name="tidyllm",
        open=False,
    )
    pool.open(wait=False)
    return pool


# --- MLflow ----------------------------------------------------------------------------------


def mlflow_tracking_uri(settings: Settings) -> str:
    """The configured tracking URI, else a SQLite store under DATA/mlflow."""
    if settings.mlflow.tracking_uri:
        return settings.mlflow.tracking_uri
    root = Path(settings.data_dir).expanduser().resolve() / "mlflow"
    root.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{root / 'mlflow.db'}"


def probe_mlflow_store(tracking_uri: str, timeout: float) -> str | None:
    """A one-experiment search without importing MLflow (which alone takes seconds).

    HTTP(S) servers get the REST call ``experiments/search``; a local SQLite store
    is opened read-only. Returns None where this cannot answer (another scheme,
    or a store not created yet): the caller then asks through ``MlflowClient``.
    """
    import sqlite3

    import httpx

    if tracking_uri.startswith(("http://", "https://")):
        url = tracking_uri.rstrip("/") + "/api/2.0/mlflow/experiments/search"
        try:
            response = httpx.post(url, json={"max_results": 1}, timeout=timeout)
        except httpx.HTTPError as exc:
            raise ServiceUnavailable("mlflow", f"{tracking_uri}: {redact(exc)}") from None
        if response.status_code in (401, 403):
            return None  # authenticated servers: let MlflowClient apply its credentials
        if response.status_code != 200:
            detail = f"{tracking_uri} answered HTTP {response.status_code}"
            raise ServiceUnavailable("mlflow", detail)
        return f"{tracking_uri} answers an experiment search"
    if tracking_uri.startswith("sqlite:///"):
        path = Path(tracking_uri[len("sqlite:///") :])
        if not path.exists():
            return None
        try:
            with contextlib.closing(
                sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=timeout)
            ) as conn:
                conn.execute("SELECT experiment_id FROM experiments LIMIT 1").fetchall()
        except sqlite3.Error as exc:
            raise ServiceUnavailable("mlflow", f"local store {path}: {exc}") from None
        return f"local store {path} answers an experiment search"
    return None


def point_mlflow_tracer(tracking_uri: str) -> None:
    """Set MLflow's global tracking URI (used by its tracer) when it differs."""
    import mlflow

    if mlflow.get_tracking_uri() != tracking_uri:
        mlflow.set_tracking_uri(tracking_uri)


def mlflow_client(settings: Settings) -> Any:
    """An MlflowClient with short HTTP timeouts, so an outage is noticed in seconds."""
    # MLflow reads these at request time; bounded values make outages fail fast
    # (the tracker then buffers to disk) instead of retrying for minutes.
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", str(settings.mlflow.request_timeout))
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", str(settings.mlflow.request_retries))
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "1")
    disable_mlflow_telemetry()  # before MLflow's import decides: no outbound usage reports
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=mlflow_tracking_uri(settings))


# --- LLM over HTTP ---------------------------------------------------------------------------


def openai_http_client(endpoint: str | None, api_key: str | None, timeout: float) -> Any:
    """An HTTP client for an OpenAI-compatible endpoint (no SDK needed for its small API)."""
    import httpx

    if not endpoint:
        raise SettingsError("llm.endpoint must be set for the openai provider")
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    return httpx.Client(base_url=endpoint.rstrip("/") + "/", headers=headers, timeout=timeout)


# --- outside metadata services (arXiv, Crossref) --------------------------------------------


def outside_http_client(settings: Settings) -> Any:
    """The HTTP client for outside metadata services (``tidyllm papers``), wrapped politely.

    One ``httpx.Client`` with the configured timeout and a User-Agent naming TidyLLM and,
    when set, the contact e-mail (Crossref's polite pool asks for ``mailto``); the wrapper
    (:class:`tidyllm.session.outside.OutsideHTTP`) spaces requests per host, retries and
    honours Retry-After. Only built when a papers command needs it.
    """
    import httpx

    from tidyllm import __version__
    from tidyllm.session.outside import OutsideHTTP

    conf = settings.papers
    agent = f"TidyLLM/{__version__} (https://github.com/RudyMartin/TidyLLM"
    agent += f"; mailto:{conf.contact_email})" if conf.contact_email else ")"
    client = httpx.Client(
        timeout=conf.timeout, headers={"User-Agent": agent}, follow_redirects=True
    )
    return OutsideHTTP(
        client,
        retries=conf.retries,
        min_interval=conf.min_interval,
        max_retry_after=conf.max_retry_after,
        contact_email=conf.contact_email,
    )
