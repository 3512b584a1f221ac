"""Per-domain grants, and the SQL that makes every domain query see only granted domains.

A grant gives one user (or everyone: ``user_id`` NULL) the viewer or editor role in one
domain. Admins see every domain without grants. What an actor may do in a domain is the
lower of their own role and their best grant there (:mod:`tidyllm.access.roles`).

:data:`VISIBLE` and :data:`GRANTED_ROLE` are SQL pieces over a ``domains d`` row that the
domain queries (:mod:`tidyllm.knowledge.domains`) build into their statements, with
:func:`visibility` as parameters: the filter is part of the query that finds the
domain, so no caller can look a domain up and forget to check it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from psycopg import sql

from tidyllm.access.actor import Actor, acting
from tidyllm.access.audit import record
from tidyllm.access.roles import GRANT_ROLES, Role, check_role, lower
from tidyllm.access.users import get_user, require_admin
from tidyllm.errors import AccessError

_MINE = sql.SQL("g.domain_id = d.id AND (g.user_id = %(actor_id)s OR g.user_id IS NULL)")

#: SQL condition: the actor may see domain ``d``.
VISIBLE = sql.SQL("(%(actor_admin)s OR EXISTS (SELECT 1 FROM grants g WHERE {mine}))").format(
    mine=_MINE
)

#: SQL expression: the best role granted to the actor on ``d`` ('admin' for admins, NULL
#: for none), before the actor's own role caps it (:func:`effective_role`).
GRANTED_ROLE = sql.SQL(
    "CASE WHEN %(actor_admin)s THEN 'admin' ELSE (SELECT CASE WHEN bool_or(g.role = 'editor') "
    "THEN 'editor' WHEN count(*) > 0 THEN 'viewer' END FROM grants g WHERE {mine}) END"
).format(mine=_MINE)
_DOMAIN_ROLE = sql.SQL("SELECT {role} FROM domains d WHERE d.id = %(domain_id)s").format(
    role=GRANTED_ROLE
)

_LIST = (
    "SELECT d.name, u.name, g.role, g.created_at FROM grants g "
    "JOIN domains d ON d.id = g.domain_id LEFT JOIN users u ON u.id = g.user_id "
    "WHERE (%s::text IS NULL OR d.name = %s) ORDER BY d.name, u.name NULLS FIRST"
)
_UPSERT = (
    "INSERT INTO grants (domain_id, user_id, role) VALUES (%s, %s, %s) "
    "ON CONFLICT (domain_id, user_id) DO UPDATE SET role = excluded.role RETURNING created_at"
)
_DELETE = (
    "DELETE FROM grants WHERE domain_id = %s AND user_id IS NOT DISTINCT FROM %s "
    "RETURNING role, created_at"
)


def visibility(actor: Actor | None) -> dict[str, Any]:
    """The parameters :data:`VISIBLE` and :data:`GRANTED_ROLE` need (None: the operator)."""
    who = acting(actor)
    return {"actor_admin": who.is_admin, "actor_id": who.user_id}


def effective_role(actor: Actor | None, granted: str | None) -> Role | None:
    """What the actor may do in a domain: their role capped by the grant (None: nothing)."""
    who = acting(actor)
    return lower(who.role, cast(Role | None, granted))


def domain_role(conn: Any, actor: Actor | None, domain_id: int) -> Role | None:
    """The actor's role in the domain with id ``domain_id``; None if they may not see it."""
    row = conn.execute(
        _DOMAIN_ROLE,
        {"domain_id": domain_id, **visibility(actor)},
    ).fetchone()
    return effective_role(actor, row[0]) if row else None


@dataclass(frozen=True)
class Grant:
    """One grant: ``user`` None means everyone."""

    domain: str
    user: str | None
    role: Role
    created_at: datetime


def _grantee(conn: Any, user: str | None, everyone: bool) -> tuple[int | None, str | None]:
    if everyone is not (user is None):
        raise AccessError(
            "a grant is for one user or for everyone",
            hint="give either --user NAME or --everyone",
        )
    if user is None:
        return None, None
    found = get_user(conn, user)
    return found.id, found.name


def _target(domain: str, user: str | None) -> str:
    return f"domain:{domain} user:{user}" if user else f"domain:{domain} everyone"


def add_grant(
    sm: Any,
    domain: str,
    *,
    user: str | None = None,
    everyone: bool = False,
    role: Role = "viewer",
    actor: Actor | None = None,
) -> Grant:
    """Grant ``user`` (or ``everyone``) ``role`` in ``domain``; an existing grant for the
    same grantee gets the new role. Admins only."""
    from tidyllm.knowledge.domains import get_domain  # domains imports this module

    who = require_admin(actor, "granting access")
    check_role(role, GRANT_ROLES)
    with sm.connection() as conn, conn.transaction():
        dom = get_domain(conn, domain)
        user_id, name = _grantee(conn, user, everyone)
        created = conn.execute(_UPSERT, (dom.id, user_id, role)).fetchone()[0]
        record(conn, who, "grant.add", _target(dom.name, name), {"role": role})
    return Grant(dom.name, name, role, created)


def remove_grant(
    sm: Any,
    domain: str,
    *,
    user: str | None = None,
    everyone: bool = False,
    actor: Actor | None = None,
) -> Grant:
    """Remove the grant of ``user`` (or ``everyone``) in ``domain``. Admins only."""
    from tidyllm.knowledge.domains import get_domain  # domains imports this module

    who = require_admin(actor, "removing a grant")
    with sm.connection() as conn, conn.transaction():
        dom = get_domain(conn, domain)
        user_id, name = _grantee(conn, user, everyone)
        row = conn.execute(_DELETE, (dom.id, user_id)).fetchone()
        if row is None:
            who_for = f"user {name!r}" if name else "everyone"
            raise AccessError(
                f"{who_for} has no grant in domain {dom.name!r}",
                hint=f"`tidyllm grants list {dom.name}` shows its grants",
            )
        record(conn, who, "grant.remove", _target(dom.name, name), {"role": row[0]})
    return Grant(dom.name, name, row[0], row[1])


def list_grants(sm: Any, domain: str | None = None, *, actor: Actor | None = None) -> list[Grant]:
    """Every grant (of ``domain``), by domain then user, everyone first. Admins only."""
    from tidyllm.knowledge.domains import get_domain  # domains imports this module

    require_admin(actor, "listing grants")
    with sm.connection() as conn:
        if domain is not None:
            get_domain(conn, domain)
        rows = conn.execute(_LIST, (domain, domain)).fetchall()
    return [Grant(*row) for row in rows]
