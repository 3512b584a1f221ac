"""Password logins: verified with argon2, throttled, and every attempt audited.

Throttling counts the ``login.failure`` audit rows of the last minute: the 6th failed
attempt within a minute for the same user name, or from the same client address, is
refused without looking at the password (and audited as ``login.throttled``, which does
not count as a failure, so the refusal ends a minute after the last real failure). The
audit log is the one record of failures, so every process and machine sharing the
database throttles alike. Attempts for one name or address are serialised by advisory
locks, so parallel guesses cannot slip past the count.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tidyllm.access.actor import OPERATOR_NAME, Actor
from tidyllm.access.audit import record_login
from tidyllm.access.passwords import dummy_hash, hash_password, needs_rehash, verify_password
from tidyllm.access.text import clean_text
from tidyllm.access.users import NAME_PATTERN
from tidyllm.errors import AuthError

MAX_FAILURES = 5
WINDOW_SECONDS = 60

_LOCK = "SELECT pg_advisory_xact_lock(hashtext('tidyllm.login'), hashtext(%s))"
_RECENT_FAILURES = (
    "SELECT count(*) FILTER (WHERE target = %(target)s), "
    "       count(*) FILTER (WHERE %(client)s::text IS NOT NULL AND client = %(client)s) "
    "FROM audit_events WHERE action = 'login.failure' "
    "AND at > coalesce(%(now)s::timestamptz, now()) - make_interval(secs => %(window)s) "
    "AND at <= coalesce(%(now)s::timestamptz, now())"
)
_USER = "SELECT id, name, role, password_hash, disabled_at IS NOT NULL FROM users WHERE name = %s"
_REHASH = "UPDATE users SET password_hash = %s WHERE id = %s"

INVALID = "invalid user name or password"
THROTTLED = "too many failed logins"


def authenticate_password(
    sm: Any, name: str, password: str, client: str | None = None, *, now: datetime | None = None
) -> Actor:
    """The :class:`Actor` for ``name`` if ``password`` is theirs, else :class:`AuthError`.

    The error is the same for an unknown name, a wrong password and a disabled user.
    ``client`` is the caller's address (the HTTP layer's peer; None from the CLI). ``now``
    replaces the database clock (tests step through the throttling window with it).
    """
    valid = isinstance(name, str) and bool(NAME_PATTERN.fullmatch(name)) and name != OPERATOR_NAME
    # A name that cannot exist is neither stored nor echoed: it may be a mistyped password.
    shown = name if valid else "?"
    address = None if client is None else clean_text(client, 100)
    keys = {f"user:{shown}"} | ({f"client:{address}"} if address else set())
    with sm.connection() as conn, conn.transaction():
        for key in sorted(keys):
            conn.execute(_LOCK, (key,))
        by_user, by_client = conn.execute(
            _RECENT_FAILURES,
            {"target": f"user:{shown}", "client": address, "now": now, "window": WINDOW_SECONDS},
        ).fetchone()
        row = conn.execute(_USER, (name,)).fetchone() if valid else None
        user_id = row[0] if row else None
        if by_user >= MAX_FAILURES or by_client >= MAX_FAILURES:
            outcome = "login.throttled"
        elif row and verify_password(row[3], password) and not row[4]:
            outcome = "login.success"
            if needs_rehash(row[3]):
                conn.execute(_REHASH, (hash_password(password), user_id))
        else:
            if row is None:
                verify_password(dummy_hash(), password)  # as long as for a real user
            outcome = "login.failure"
        record_login(conn, user_id, shown, outcome, address, at=now)
    if outcome == "login.throttled":
        raise AuthError(THROTTLED, hint=f"wait {WINDOW_SECONDS} seconds and try again")
    if outcome == "login.failure":
        raise AuthError(INVALID, hint="check both and try again")
    return Actor(row[0], row[1], row[2])
