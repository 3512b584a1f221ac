"""Browser sessions: a password login becomes a random session id kept in a cookie.

Why server-side: a session must stop working the moment its user logs out, is disabled
or deleted, or its lifetime ends, which a signed self-contained cookie cannot do. Only
the SHA-256 of the id is stored (like API tokens), so a copy of the database cannot be
replayed as a cookie. The expiry is absolute (from login, not sliding).

The CSRF token is an HMAC of the session id: the server recomputes it from the cookie
on every request, so it needs no storage, cannot be derived from the stored hash, and a
page can fetch it again (``GET /api/v1/me``) after a reload.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tidyllm.access.actor import Actor
from tidyllm.access.audit import record
from tidyllm.access.login import authenticate_password
from tidyllm.access.text import clean_text
from tidyllm.access.tokens import token_sha256
from tidyllm.errors import AccessError, AuthError

SESSION_PATTERN = re.compile(r"[A-Za-z0-9_-]{43}")
_CSRF_CONTEXT = b"tidyllm csrf v1"

_INSERT = (
    "INSERT INTO web_sessions (user_id, session_sha256, expires_at, client) "
    "VALUES (%s, %s, coalesce(%s::timestamptz, now()) + %s::interval, %s) RETURNING expires_at"
)
_PURGE = "DELETE FROM web_sessions WHERE expires_at <= coalesce(%s::timestamptz, now())"
_AUTHENTICATE = (
    "SELECT u.id, u.name, u.role FROM web_sessions s JOIN users u ON u.id = s.user_id "
    "WHERE s.session_sha256 = %s AND u.disabled_at IS NULL "
    "AND s.expires_at > coalesce(%s::timestamptz, now())"
)
_DELETE = (
    "DELETE FROM web_sessions s USING users u WHERE u.id = s.user_id "
    "AND s.session_sha256 = %s RETURNING u.id, u.name, u.role"
)


@dataclass(frozen=True)
class NewSession:
    """A fresh session: ``secret`` goes into the cookie, ``csrf`` to the page, once each."""

    secret: str
    csrf: str
    actor: Actor
    expires_at: datetime

    def __repr__(self) -> str:  # the secrets stay out of reprs, logs and tracebacks
        return f"NewSession(secret='***', csrf='***', actor={self.actor!r})"


def _refused() -> AuthError:
    return AuthError("session expired or logged out", hint="log in again")


def csrf_token(session_id: str) -> str:
    """The CSRF token belonging to ``session_id`` (43 URL-safe characters)."""
    digest = hmac.new(session_id.encode(), _CSRF_CONTEXT, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def csrf_matches(session_id: str, presented: str | None) -> bool:
    """Whether ``presented`` is the session's CSRF token, compared in constant time."""
    if not presented or not presented.isascii():
        return False
    return hmac.compare_digest(csrf_token(session_id).encode(), presented.encode())


def login(
    sm: Any,
    name: str,
    password: str,
    client: str | None = None,
    *,
    lifetime: timedelta,
    now: datetime | None = None,
) -> NewSession:
    """Check the password (throttled and audited by :func:`authenticate_password`) and
    start a session of ``lifetime``; expired sessions of anyone are deleted on the way."""
    if not isinstance(lifetime, timedelta) or lifetime <= timedelta(0):
        raise AccessError(f"a session lifetime must be positive, got {lifetime!r}")
    actor = authenticate_password(sm, name, password, client, now=now)
    secret = secrets.token_urlsafe(32)
    address = None if client is None else clean_text(client, 100)
    with sm.connection() as conn, conn.transaction():
        conn.execute(_PURGE, (now,))
        expires_at = conn.execute(
            _INSERT, (actor.user_id, token_sha256(secret), now, lifetime, address)
        ).fetchone()[0]
    return NewSession(secret, csrf_token(secret), actor, expires_at)


def authenticate_session(sm: Any, session_id: object, *, now: datetime | None = None) -> Actor:
    """The user of a live session, with their current role, or :class:`AuthError` (one
    message for unknown, malformed, expired and logged-out sessions and disabled users)."""
    if not isinstance(session_id, str) or not SESSION_PATTERN.fullmatch(session_id):
        raise _refused()
    with sm.connection() as conn:
        row = conn.execute(_AUTHENTICATE, (token_sha256(session_id), now)).fetchone()
    if row is None:
        raise _refused()
    return Actor(*row)


def end_session(sm: Any, session_id: object, client: str | None = None) -> bool:
    """Log out: delete the session (audited as ``session.end``). False if there was none."""
    if not isinstance(session_id, str) or not SESSION_PATTERN.fullmatch(session_id):
        return False
    with sm.connection() as conn, conn.transaction():
        row = conn.execute(_DELETE, (token_sha256(session_id),)).fetchone()
        if row is None:
            return False
        actor = Actor(*row)
        record(conn, actor, "session.end", f"user:{actor.name}", client=client)
    return True
