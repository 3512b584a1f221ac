"""API tokens: random secrets shown once, stored only as their SHA-256, revocable.

A token is ``tidyllm_`` + 43 URL-safe characters (256 random bits). The prefix makes a
leaked token recognisable (secret scanners, :mod:`tidyllm.redaction` masks the pattern in
every output). A fast hash is enough: the secret is random, not a guessable password.
A token is refused with the same message whether it is unknown, revoked or expired, and
when its user is disabled; ``last_used_at`` is kept to the minute (at most one write a
minute per token, so authenticating a request is a read).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tidyllm.access.actor import Actor, acting
from tidyllm.access.audit import record
from tidyllm.access.text import clean_text
from tidyllm.access.users import get_user
from tidyllm.errors import AccessError, AuthError, PermissionDenied

PREFIX = "tidyllm_"
TOKEN_PATTERN = re.compile(r"tidyllm_[A-Za-z0-9_-]{43}")
MAX_NAME = 100

_SELECT = (
    "SELECT t.id, u.name, t.name, t.created_at, t.expires_at, t.last_used_at, t.revoked_at "
    "FROM api_tokens t JOIN users u ON u.id = t.user_id "
)
_GET = _SELECT + "WHERE t.id = %s"
_LIST = _SELECT + "WHERE (%s::text IS NULL OR u.name = %s) AND (%s OR u.id = %s) ORDER BY t.id"
#: expires_at is NULL (never) when the interval is NULL.
_INSERT = (
    "INSERT INTO api_tokens (user_id, name, token_sha256, expires_at) "
    "VALUES (%s, %s, %s, coalesce(%s::timestamptz, now()) + %s::interval) RETURNING id"
)
_AUTHENTICATE = (
    "SELECT t.id, t.last_used_at IS NULL OR t.last_used_at < %(now)s - interval '1 minute', "
    "u.id, u.name, u.role FROM api_tokens t JOIN users u ON u.id = t.user_id "
    "WHERE t.token_sha256 = %(sha)s AND t.revoked_at IS NULL AND u.disabled_at IS NULL "
    "AND (t.expires_at IS NULL OR t.expires_at > %(now)s)"
)


@dataclass(frozen=True)
class TokenInfo:
    """A token as listed: never its secret."""

    id: int
    user: str
    name: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True)
class NewToken:
    """A freshly created token: ``secret`` is shown to its owner once and never again."""

    secret: str
    info: TokenInfo

    def __repr__(self) -> str:  # the secret stays out of reprs, logs and tracebacks
        return f"NewToken(secret='***', info={self.info!r})"


def token_sha256(token: str) -> str:
    """What is stored for a token: the hex SHA-256 of the whole string."""
    return hashlib.sha256(token.encode()).hexdigest()


def _refused() -> AuthError:
    return AuthError("invalid, revoked or expired token", hint="ask an admin for a new token")


def _token_not_found(token_id: object) -> AccessError:
    return AccessError(
        f"token {str(token_id)[:20]} does not exist",
        hint="`tidyllm tokens list` shows the tokens and their ids",
    )


def _get(conn: Any, token_id: int) -> TokenInfo | None:
    row = conn.execute(_GET, (token_id,)).fetchone()
    return TokenInfo(*row) if row else None


def create_token(
    sm: Any,
    user: str,
    name: str,
    *,
    expires: timedelta | None = None,
    actor: Actor | None = None,
    now: datetime | None = None,
) -> NewToken:
    """Create a token for ``user`` called ``name``, valid for ``expires`` (None: until
    revoked). Admins create tokens for anyone; a user only for themselves."""
    who = acting(actor)
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME:
        raise AccessError(
            f"invalid token name {clean_text(name, 40)!r}",
            hint=f"give it 1-{MAX_NAME} characters saying what uses it, e.g. 'ci-upload'",
        )
    if clean_text(name, MAX_NAME) != name:
        raise AccessError(
            f"invalid token name {clean_text(name, 40)!r}",
            hint="use printable characters only (no control or direction characters)",
        )
    if expires is not None and (not isinstance(expires, timedelta) or expires <= timedelta(0)):
        raise AccessError(f"expires must be a positive duration, got {expires!r}")
    secret = PREFIX + secrets.token_urlsafe(32)
    with sm.connection() as conn, conn.transaction():
        owner = get_user(conn, user)
        if not who.is_admin and who.user_id != owner.id:
            raise PermissionDenied(
                "creating a token for another user needs the admin role", hint="ask an admin"
            )
        token_id = conn.execute(
            _INSERT, (owner.id, name, token_sha256(secret), now, expires)
        ).fetchone()[0]
        info = _get(conn, token_id)
        record(
            conn,
            who,
            "token.create",
            f"token:{token_id}",
            {"user": owner.name, "name": name, "expires_at": _iso(info.expires_at)},
        )
    assert info is not None
    return NewToken(secret, info)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def revoke_token(sm: Any, token_id: int, *, actor: Actor | None = None) -> TokenInfo:
    """Revoke a token (kept, marked revoked, so the list shows when). A user may revoke
    their own tokens; someone else's token answers as if it did not exist."""
    who = acting(actor)
    if isinstance(token_id, bool) or not isinstance(token_id, int) or token_id < 1:
        raise _token_not_found(token_id)
    with sm.connection() as conn, conn.transaction():
        row = conn.execute(
            "UPDATE api_tokens SET revoked_at = coalesce(revoked_at, now()) WHERE id = %s "
            "AND (%s OR user_id = %s) RETURNING id",
            (token_id, who.is_admin, who.user_id),
        ).fetchone()
        if row is None:
            raise _token_not_found(token_id)
        info = _get(conn, token_id)
        record(conn, who, "token.revoke", f"token:{token_id}", {"user": info.user})
    assert info is not None
    return info


def list_tokens(sm: Any, *, user: str | None = None, actor: Actor | None = None) -> list[TokenInfo]:
    """Tokens (of ``user``), oldest first, never their secrets. A non-admin sees only
    their own."""
    who = acting(actor)
    with sm.connection() as conn:
        if user is not None:
            get_user(conn, user)
        rows = conn.execute(_LIST, (user, user, who.is_admin, who.user_id)).fetchall()
    return [TokenInfo(*row) for row in rows]


def authenticate_token(sm: Any, token: object, *, now: datetime | None = None) -> Actor:
    """The :class:`Actor` a token stands for, or :class:`AuthError` (one message for
    unknown, malformed, revoked and expired tokens and disabled users)."""
    if not isinstance(token, str) or not TOKEN_PATTERN.fullmatch(token):
        raise _refused()
    with sm.connection() as conn:
        clock = now or conn.execute("SELECT now()").fetchone()[0]
        row = conn.execute(_AUTHENTICATE, {"sha": token_sha256(token), "now": clock}).fetchone()
        if row is None:
            raise _refused()
        token_id, stale, user_id, name, role = row
        if stale:
            conn.execute("UPDATE api_tokens SET last_used_at = %s WHERE id = %s", (clock, token_id))
    return Actor(user_id, name, role)
