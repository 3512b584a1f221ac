"""Users: a unique name, a role and an argon2 password hash. Managing them needs admin.

Every change is audited in the transaction that makes it. Deleting a user removes their
tokens and grants (foreign keys); their audit rows stay, with their name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tidyllm.access.actor import OPERATOR_NAME, Actor, acting
from tidyllm.access.audit import record
from tidyllm.access.passwords import hash_password
from tidyllm.access.roles import Role, check_role
from tidyllm.errors import AccessError, PermissionDenied

NAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9._@-]{0,63}")

_GET = "SELECT id, name, role, created_at, disabled_at FROM users WHERE name = %s"
_LIST = "SELECT id, name, role, created_at, disabled_at FROM users ORDER BY name"
_INSERT = (
    "INSERT INTO users (name, role, password_hash) VALUES (%s, %s, %s) "
    "ON CONFLICT (name) DO NOTHING RETURNING id, name, role, created_at, disabled_at"
)
_DELETE = "DELETE FROM users WHERE name = %s RETURNING id, name, role, created_at, disabled_at"
_SET_ROLE = (
    "UPDATE users SET role = %s WHERE id = %s RETURNING id, name, role, created_at, disabled_at"
)
_SET_DISABLED = (
    "UPDATE users SET disabled_at = CASE WHEN %s THEN coalesce(disabled_at, now()) END "
    "WHERE id = %s RETURNING id, name, role, created_at, disabled_at"
)


@dataclass(frozen=True)
class User:
    """One user row, without the password hash."""

    id: int
    name: str
    role: Role
    created_at: datetime
    disabled_at: datetime | None


def check_user_name(name: object) -> str:
    """A valid user name or a clear error: 1-64 lower-case letters, digits, ``. _ @ -``."""
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        shown = repr(name)[:40] if isinstance(name, str) else type(name).__name__
        raise AccessError(
            f"invalid user name {shown}",
            hint="use 1-64 lower-case letters, digits, '.', '_', '@' or '-', "
            "starting with a letter or digit",
        )
    if name == OPERATOR_NAME:
        raise AccessError(
            f"the user name {OPERATOR_NAME!r} is reserved for the CLI's operator",
            hint="choose another name",
        )
    return name


def require_admin(actor: Actor | None, what: str) -> Actor:
    """The actor if it is an admin, else :class:`PermissionDenied` saying what needed it."""
    who = acting(actor)
    if not who.is_admin:
        raise PermissionDenied(f"{what} needs the admin role", hint="ask an admin")
    return who


def user_not_found(name: str) -> AccessError:
    """The error for an unknown user name, with the command that lists users."""
    return AccessError(f"user {name!r} does not exist", hint="`tidyllm users list` shows the users")


def get_user(conn: Any, name: str) -> User:
    """The user called ``name`` or a clear error."""
    check_user_name(name)
    row = conn.execute(_GET, (name,)).fetchone()
    if row is None:
        raise user_not_found(name)
    return User(*row)


def add_user(sm: Any, name: str, role: Role, password: str, *, actor: Actor | None = None) -> User:
    """Create a user with a password (hashed here; the password is never stored or logged)."""
    who = require_admin(actor, "adding a user")
    check_user_name(name)
    check_role(role)
    password_hash = hash_password(password)
    with sm.connection() as conn, conn.transaction():
        row = conn.execute(_INSERT, (name, role, password_hash)).fetchone()
        if row is None:
            raise AccessError(
                f"user {name!r} already exists",
                hint="`tidyllm users list` shows every user and their role",
            )
        record(conn, who, "user.add", f"user:{name}", {"role": role})
    return User(*row)


def list_users(sm: Any, *, actor: Actor | None = None) -> list[User]:
    """Every user, by name. Admins only."""
    require_admin(actor, "listing users")
    with sm.connection() as conn:
        rows = conn.execute(_LIST).fetchall()
    return [User(*row) for row in rows]


def delete_user(sm: Any, name: str, *, actor: Actor | None = None) -> User:
    """Delete a user with their tokens and grants; returns who was deleted."""
    who = require_admin(actor, "deleting a user")
    check_user_name(name)
    with sm.connection() as conn, conn.transaction():
        row = conn.execute(_DELETE, (name,)).fetchone()
        if row is None:
            raise user_not_found(name)
        record(conn, who, "user.delete", f"user:{name}", {"user_id": row[0]})
    return User(*row)


def set_role(sm: Any, name: str, role: Role, *, actor: Actor | None = None) -> User:
    """Change a user's role; it applies from their next request (tokens keep working)."""
    who = require_admin(actor, "changing a role")
    check_user_name(name)
    check_role(role)
    with sm.connection() as conn, conn.transaction():
        before = get_user(conn, name)
        row = conn.execute(_SET_ROLE, (role, before.id)).fetchone()
        record(conn, who, "user.set_role", f"user:{name}", {"from": before.role, "to": role})
    return User(*row)


def set_disabled(sm: Any, name: str, disabled: bool, *, actor: Actor | None = None) -> User:
    """Disable (or enable again) a user: a disabled user's password and tokens stop working
    at once, but the account, its tokens and grants are kept for when it is enabled."""
    who = require_admin(actor, "disabling a user")
    check_user_name(name)
    if not isinstance(disabled, bool):
        raise AccessError(f"disabled must be true or false, got {disabled!r}")
    with sm.connection() as conn, conn.transaction():
        user = get_user(conn, name)
        row = conn.execute(_SET_DISABLED, (disabled, user.id)).fetchone()
        action = "user.disable" if disabled else "user.enable"
        record(conn, who, action, f"user:{name}")
    return User(*row)
