"""The audit log: an append-only record of who did what, written with the change itself.

:func:`record` takes the connection of the change it describes, so the event and the
change commit (or roll back) together: no event for a change that did not happen, no
change without its event. The table refuses UPDATE, DELETE and TRUNCATE (migration 0007).
Details never hold secrets: callers pass ids and names, never passwords or tokens.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg.types.json import Jsonb

from tidyllm.access.actor import Actor, acting
from tidyllm.access.text import clean_text
from tidyllm.errors import AccessError, PermissionDenied

MAX_LIMIT = 10_000

_INSERT = (
    "INSERT INTO audit_events (at, actor_id, actor_name, action, target, detail, client) "
    "VALUES (coalesce(%s::timestamptz, now()), %s, %s, %s, %s, %s, %s)"
)
_READ = (
    "SELECT * FROM (SELECT id, at, actor_id, actor_name, action, target, detail, client "
    "FROM audit_events WHERE (%(user)s::text IS NULL OR actor_name = %(user)s) "
    "AND (%(since)s::timestamptz IS NULL OR at >= %(since)s) ORDER BY id DESC LIMIT %(limit)s"
    ") newest ORDER BY id"
)


@dataclass(frozen=True)
class AuditEvent:
    """One audit row. ``actor_id`` is None for the operator and for unknown login names."""

    id: int
    at: datetime
    actor_id: int | None
    actor_name: str
    action: str
    target: str
    detail: dict[str, Any]
    client: str | None


def record(
    conn: Any,
    actor: Actor | None,
    action: str,
    target: str,
    detail: dict[str, Any] | None = None,
    client: str | None = None,
    *,
    at: datetime | None = None,
) -> None:
    """Append one event on ``conn``, inside the caller's transaction.

    ``action`` is ``noun.verb`` (``user.add``, ``login.failure``); ``target`` names what
    was acted on (``user:alice``, ``domain:fed``); ``at`` defaults to the database's clock.
    """
    who = acting(actor)
    _insert(conn, who.user_id, who.name, action, target, detail, client, at)


def record_login(
    conn: Any,
    user_id: int | None,
    name: str,
    action: str,
    client: str | None = None,
    *,
    at: datetime | None = None,
) -> None:
    """Append a login event: the actor is whoever the attempt was for (``user_id`` None
    when no such user exists), the target ``user:NAME``."""
    _insert(conn, user_id, name, action, f"user:{name}", None, client, at)


def _insert(
    conn: Any,
    actor_id: int | None,
    actor_name: str,
    action: str,
    target: str,
    detail: dict[str, Any] | None,
    client: str | None,
    at: datetime | None,
) -> None:
    conn.execute(
        _INSERT,
        (
            at,
            actor_id,
            clean_text(actor_name, 100),
            action,
            clean_text(target),
            Jsonb(detail or {}),
            None if client is None else clean_text(client, 100),
        ),
    )


def read_audit(
    sm: Any,
    *,
    user: str | None = None,
    since: datetime | None = None,
    limit: int = 1000,
    actor: Actor | None = None,
) -> list[AuditEvent]:
    """The newest ``limit`` events (by ``user`` as actor, at or after ``since``), oldest
    first. Admins only."""
    if not acting(actor).is_admin:
        raise PermissionDenied("reading the audit log needs the admin role")
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise AccessError(f"limit must be an integer from 1 to {MAX_LIMIT}, got {limit!r}")
    params = {
        "user": None if user is None else clean_text(user, 100),
        "since": since,
        "limit": limit,
    }
    with sm.connection() as conn:
        rows = conn.execute(_READ, params).fetchall()
    return [AuditEvent(*row) for row in rows]
