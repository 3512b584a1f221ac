"""The probe for each service, as used by ``UnifiedSessionManager.health()`` and ``doctor``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tidyllm.credentials import resolve_secret
from tidyllm.db import migration_head
from tidyllm.db.dsn import describe
from tidyllm.errors import CredentialError, ServiceUnavailable, SettingsError
from tidyllm.session.clients import mlflow_tracking_uri, probe_mlflow_store
from tidyllm.session.health import Probe
from tidyllm.settings import SECRET_FIELDS, SECRET_PREFIX, get_path

if TYPE_CHECKING:
    from tidyllm.session.manager import UnifiedSessionManager


def all_probes(sm: UnifiedSessionManager) -> dict[str, tuple[Probe, bool]]:
    """Name -> (probe, configured). Unconfigured optional services are reported, not failed."""
    return {
        "object store": (lambda: _object_store(sm), True),
        "database": (lambda: _database(sm), True),
        "mlflow": (lambda: _mlflow(sm), True),
        "llm": (lambda: _llm(sm), sm.settings.llm.provider != "extractive"),
        "embedder": (lambda: _embedder(sm), True),
        "credentials": (lambda: check_credentials(sm), _uses_store(sm)),
        "upload routing": (lambda: _upload_routing(sm), _routes_upload(sm)),
    }


def _routes_upload(sm: UnifiedSessionManager) -> bool:
    upload = sm.settings.upload
    return bool(upload.routes or upload.default_domain)


def _upload_routing(sm: UnifiedSessionManager) -> tuple[str, str]:
    """Every domain ``upload.routes`` and ``upload.default_domain`` name exists.

    Users never learn of a rule to a missing domain (it is skipped as if absent, see
    :mod:`tidyllm.knowledge.routing`), so the operator must: here, and on the dashboard.
    """
    upload = sm.settings.upload
    if not _routes_upload(sm):
        return "no routing rules (upload.routes) set", "-"
    named = {r.name: r.domain for r in upload.routes}
    if upload.default_domain:
        named["upload.default_domain"] = upload.default_domain
    with sm.connection() as conn:
        rows = conn.execute("SELECT name FROM domains WHERE name = ANY(%s)", [list(named.values())])
        existing = {row[0] for row in rows}
    missing = [f"{rule} -> {domain}" for rule, domain in named.items() if domain not in existing]
    if missing:
        raise SettingsError(
            f"routing to domains that do not exist (their files fall through): "
            f"{', '.join(missing)}; create them with `tidyllm domains create NAME` "
            "or change upload.routes"
        )
    detail = f"{len(upload.routes)} rule(s), every domain they name exists"
    return detail, sm.loaded.source_of("upload.routes")


def _uses_store(sm: UnifiedSessionManager) -> bool:
    refs = (get_path(sm.settings, dotted) for dotted in SECRET_FIELDS)
    referenced = any(v is not None and v.get_secret_value().startswith(SECRET_PREFIX) for v in refs)
    return referenced or sm.credentials.path.exists()


def _object_store(sm: UnifiedSessionManager) -> tuple[str, str]:
    conf = sm.settings.object_store
    if conf.kind == "s3":
        source = f"AWS credentials: {sm.aws_credential_source()}"
    else:
        source = "local folder"
    return sm.object_store().probe(), source


def _database(sm: UnifiedSessionManager) -> tuple[str, str]:
    params, label = sm._database_target()
    with sm.connection() as conn:
        conn.execute("SELECT 1").fetchone()
        row = conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
        vector = row.fetchone()
        head = migration_head(conn)
        version = conn.execute("SHOW server_version").fetchone()[0]
    pgvector = f"pgvector {vector[0]}" if vector else "pgvector MISSING"
    detail = f"PostgreSQL {version}, {pgvector}, schema {head or 'empty'} at {describe(params)}"
    if label == "embedded":
        source = "embedded (no database URL set)"
    else:
        source = f"URL from {sm.loaded.source_of('database.url')}"
    password = sm.settings.database.password
    if password is not None:
        raw = password.get_secret_value()
        where = "credential store" if raw.startswith(SECRET_PREFIX) else "environment/argument"
        source += f"; password from {where}"
    return detail, source


def _mlflow(sm: UnifiedSessionManager) -> tuple[str, str]:
    from tidyllm.tracking import RunBuffer

    pending = RunBuffer(sm.data_dir / "tracking-buffer").count()
    uri = mlflow_tracking_uri(sm.settings)
    try:
        detail = probe_mlflow_store(uri, sm.settings.mlflow.request_timeout)
        if detail is None:  # no fast path for this store: search through MlflowClient
            detail = sm.tracker().probe().split(";")[0]
    except ServiceUnavailable as exc:
        detail = f"{exc.detail}; {pending} run(s) buffered on disk"
        raise ServiceUnavailable("mlflow", detail) from None
    if pending:
        detail += f"; {pending} buffered run(s) waiting to be replayed"
    source = sm.loaded.source_of("mlflow.tracking_uri")
    return detail, "local store under the data directory" if source == "default" else source


def _llm(sm: UnifiedSessionManager) -> tuple[str, str]:
    conf = sm.settings.llm
    if conf.provider == "extractive":
        return "offline extractive answerer (no remote model)", "built in"
    handle = sm.llm()
    if conf.provider == "bedrock":
        from tidyllm.session.clients import bedrock_client

        control = bedrock_client(sm.boto3_session(), sm.settings, control=True)
        model = control.get_foundation_model(modelIdentifier=conf.model)["modelDetails"]
        return f"Bedrock model {model['modelId']} accessible", sm.aws_credential_source()
    response = handle.client.get("models")
    if response.status_code != 200:
        raise ServiceUnavailable("llm", f"GET models answered HTTP {response.status_code}")
    return (
        f"OpenAI-compatible endpoint answers ({conf.endpoint})",
        "api key" if conf.api_key else "-",
    )


def _embedder(sm: UnifiedSessionManager) -> tuple[str, str]:
    embedder = sm.embedder()
    vector = embedder.embed_query("health check")
    return f"{embedder.name}: {vector.shape[-1]}-d vectors", sm.settings.embedder.provider


def check_credentials(sm: UnifiedSessionManager) -> tuple[str, str]:
    """Decrypt the store and resolve every `secret:NAME` the settings refer to."""
    if not _uses_store(sm):
        return "no secrets stored and none referenced", "-"
    names = sm.credentials.names()
    missing = []
    for dotted in SECRET_FIELDS:
        value = get_path(sm.settings, dotted)
        if value is not None and value.get_secret_value().startswith(SECRET_PREFIX):
            try:
                resolve_secret(value, sm.credentials)
            except CredentialError:
                missing.append(f"{dotted} -> {value.get_secret_value()}")
    if missing:
        raise CredentialError(f"referenced secrets are missing: {', '.join(missing)}")
    return f"{len(names)} secret(s) stored", f"master key from {sm.credentials.key_source()}"
