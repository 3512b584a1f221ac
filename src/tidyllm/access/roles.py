"""Roles, ordered viewer < editor < admin.

A user has one role; a per-domain grant gives viewer or editor. What an actor may do in a
domain is the lower of the two, so a grant can never raise a viewer to editor and an
editor granted "viewer" on one domain only reads there. Admins need no grant.
"""

from __future__ import annotations

from typing import Literal, cast

from tidyllm.errors import AccessError

Role = Literal["viewer", "editor", "admin"]
ROLES: tuple[Role, ...] = ("viewer", "editor", "admin")
GRANT_ROLES: tuple[Role, ...] = ("viewer", "editor")


def check_role(role: object, allowed: tuple[Role, ...] = ROLES) -> Role:
    """``role`` if it is one of ``allowed``, else a clear error naming the choices."""
    if not isinstance(role, str) or role not in allowed:
        shown = repr(role)[:40]
        raise AccessError(f"invalid role {shown}", hint=f"choose one of: {', '.join(allowed)}")
    return cast(Role, role)


def rank(role: Role) -> int:
    """The role's place in viewer < editor < admin (0, 1, 2)."""
    return ROLES.index(role)


def at_least(role: Role | None, need: Role) -> bool:
    """Whether ``role`` (None: no access at all) includes everything ``need`` may do."""
    return role is not None and rank(role) >= rank(need)


def lower(a: Role, b: Role | None) -> Role | None:
    """The weaker of two roles (None, no access, is weakest)."""
    if b is None:
        return None
    return a if rank(a) <= rank(b) else b
