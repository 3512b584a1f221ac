"""Turn database settings into psycopg connection parameters, without leaking the password.

psycopg's own DSN errors quote the DSN (password included), so the URL is
checked here first and every error message is redacted.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from tidyllm.errors import SettingsError
from tidyllm.redaction import redact, register_secret
from tidyllm.settings.schema import DatabaseSettings

_SCHEMES = {"postgresql", "postgres"}
_QUERY_KEYS = {
    "host",
    "port",
    "dbname",
    "user",
    "password",
    "sslmode",
    "sslrootcert",
    "sslcert",
    "sslkey",
    "application_name",
    "options",
    "target_session_attrs",
    "connect_timeout",
    "gssencmode",
    "channel_binding",
}


def parse_url(url: str) -> dict[str, Any]:
    """Split a ``postgresql://`` URL into psycopg keyword parameters."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise SettingsError(f"database.url is malformed: {redact(url)}") from None
    if parts.scheme not in _SCHEMES:
        raise SettingsError(f"database.url must start with postgresql:// (got {redact(url)!r})")
    params: dict[str, Any] = {}
    if parts.hostname:
        params["host"] = unquote(parts.hostname)
    if port:
        params["port"] = port
    if parts.username:
        params["user"] = unquote(parts.username)
    if parts.password:
        password = unquote(parts.password)
        register_secret(password)
        params["password"] = password
    if parts.path.strip("/"):
        params["dbname"] = unquote(parts.path.strip("/"))
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key not in _QUERY_KEYS:
            raise SettingsError(f"database.url has an unknown parameter {key!r}")
        params[key] = value
    if "host" not in params:
        raise SettingsError("database.url names no host (add one, or ?host=/socket/dir)")
    return params


def connection_params(db: DatabaseSettings, url: str | None = None) -> dict[str, Any]:
    """Static connection parameters (the password is resolved separately, at connect time)."""
    params = parse_url(url) if url else {}
    for key, value in (
        ("host", db.host),
        ("port", db.port),
        ("dbname", db.name),
        ("user", db.user),
    ):
        if value is not None:
            params[key] = value
    if "host" not in params:
        raise SettingsError("database: set database.url (or DATABASE_URL) or database.host")
    params.setdefault("connect_timeout", db.connect_timeout)
    return params


def describe(params: dict[str, Any]) -> str:
    """A human description of where we connect: never the password."""
    host = params.get("host", "?")
    port = f":{params['port']}" if params.get("port") else ""
    return f"{params.get('user', '')}@{host}{port}/{params.get('dbname', '')}".lstrip("@")
