"""Identity and access: users, roles, API tokens, per-domain grants and the audit log.

The library's domain queries take an :class:`Actor` and see only what it was granted
(:mod:`tidyllm.access.grants`), so every surface built on them (the CLI, the HTTP API)
enforces the same rules. The CLI acts as :meth:`Actor.operator`; an HTTP request acts as
the user :func:`authenticate_token` or :func:`authenticate_password` returned.
"""

from tidyllm.access.actor import Actor
from tidyllm.access.audit import AuditEvent, read_audit, record
from tidyllm.access.durations import parse_duration, parse_since
from tidyllm.access.grants import Grant, add_grant, domain_role, list_grants, remove_grant
from tidyllm.access.login import authenticate_password
from tidyllm.access.roles import GRANT_ROLES, ROLES, Role
from tidyllm.access.tokens import (
    NewToken,
    TokenInfo,
    authenticate_token,
    create_token,
    list_tokens,
    revoke_token,
)
from tidyllm.access.users import (
    User,
    add_user,
    delete_user,
    list_users,
    set_disabled,
    set_role,
)

__all__ = [
    "GRANT_ROLES",
    "ROLES",
    "Actor",
    "AuditEvent",
    "Grant",
    "NewToken",
    "Role",
    "TokenInfo",
    "User",
    "add_grant",
    "add_user",
    "authenticate_password",
    "authenticate_token",
    "create_token",
    "delete_user",
    "domain_role",
    "list_grants",
    "list_tokens",
    "list_users",
    "parse_duration",
    "parse_since",
    "read_audit",
    "record",
    "remove_grant",
    "revoke_token",
    "set_disabled",
    "set_role",
]
