"""``tidyllm users``, ``tokens``, ``grants`` and ``audit``: thin calls into tidyllm.access.

The CLI is the operator's tool: it runs with the machine's database credentials as
:meth:`~tidyllm.access.Actor.operator` (an admin), and every change it makes is audited
under that name. Passwords are read from a hidden prompt or stdin, never from arguments
(they would be in the shell history and the process list); a new token is printed once,
alone on stdout, so it can be captured by a script.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from tidyllm.cli.deferred import UnifiedSessionManager
from tidyllm.cli.output import console, err_console
from tidyllm.errors import AccessError
from tidyllm.redaction import redact

users_app = typer.Typer(help="Users of the HTTP API: add, list, delete, set-role, disable.")
users_app.info.no_args_is_help = True
tokens_app = typer.Typer(help="API tokens: create (shown once), list, revoke.")
tokens_app.info.no_args_is_help = True
grants_app = typer.Typer(help="Per-domain grants: add, remove, list.")
grants_app.info.no_args_is_help = True

RoleOption = Annotated[str, typer.Option("--role", help="viewer, editor or admin.")]
GrantRoleOption = Annotated[str, typer.Option("--role", help="viewer or editor.")]
UserOption = Annotated[str | None, typer.Option("--user", help="User name.")]
EveryoneOption = Annotated[bool, typer.Option("--everyone", help="Every user.")]


def _out(text: object) -> str:
    """Stored names made safe for the terminal (Rich markup escaped, secrets masked)."""
    return escape(redact(str(text)))


def _when(value: datetime | None, empty: str = "-") -> str:
    return value.isoformat(timespec="seconds") if value else empty


def _interactive() -> bool:
    return sys.stdin.isatty()


def _read_password(password_stdin: bool) -> str:
    """The new password: stdin's first line with ``--password-stdin``, else a hidden
    prompt asked twice."""
    if password_stdin:
        line = sys.stdin.readline()
        return line[:-1] if line.endswith("\n") else line
    if not _interactive():
        raise AccessError(
            "no terminal to ask for the password", hint="pipe it in with --password-stdin"
        )
    return typer.prompt("password", hide_input=True, confirmation_prompt=True)


# --- users -----------------------------------------------------------------------------------


@users_app.command("add")
def users_add(
    name: Annotated[str, typer.Argument(help="User name (lower-case letters, digits, . _ @ -).")],
    role: RoleOption = "viewer",
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from stdin's first line.")
    ] = False,
) -> None:
    """Add a user with a role and a password (asked twice, hidden, unless --password-stdin)."""
    from tidyllm.access import add_user
    from tidyllm.access.roles import check_role
    from tidyllm.access.users import check_user_name

    check_user_name(name)  # before asking for a password
    check_role(role)
    password = _read_password(password_stdin)
    with UnifiedSessionManager() as sm:
        user = add_user(sm, name, role, password)  # type: ignore[arg-type]
    console.print(f"added user {_out(user.name)} ({user.role})")


@users_app.command("list")
def users_list() -> None:
    """List users with their roles."""
    from tidyllm.access import list_users

    with UnifiedSessionManager() as sm:
        users = list_users(sm)
    if not users:
        console.print("no users yet: tidyllm users add NAME --role viewer")
        return
    table = Table("name", "role", "created", "disabled")
    for user in users:
        table.add_row(
            _out(user.name), user.role, _when(user.created_at), _when(user.disabled_at, "no")
        )
    console.print(table)


@users_app.command("delete")
def users_delete(
    name: Annotated[str, typer.Argument(help="User name.")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete a user with their tokens and grants (their audit events stay)."""
    from tidyllm.access import delete_user
    from tidyllm.access.users import check_user_name

    check_user_name(name)
    if not yes and not typer.confirm(f"delete user {name!r} with their tokens and grants?"):
        raise AccessError(f"user {name!r} was not deleted")
    with UnifiedSessionManager() as sm:
        delete_user(sm, name)
    console.print(f"deleted user {_out(name)}")


@users_app.command("set-role")
def users_set_role(
    name: Annotated[str, typer.Argument(help="User name.")],
    role: Annotated[str, typer.Argument(help="viewer, editor or admin.")],
) -> None:
    """Change a user's role (from their next request)."""
    from tidyllm.access import set_role

    with UnifiedSessionManager() as sm:
        user = set_role(sm, name, role)  # type: ignore[arg-type]
    console.print(f"user {_out(user.name)} is now {user.role}")


@users_app.command("disable")
def users_disable(name: Annotated[str, typer.Argument(help="User name.")]) -> None:
    """Disable a user: their password and tokens stop working; nothing is deleted."""
    from tidyllm.access import set_disabled

    with UnifiedSessionManager() as sm:
        set_disabled(sm, name, True)
    console.print(f"disabled user {_out(name)}")


@users_app.command("enable")
def users_enable(name: Annotated[str, typer.Argument(help="User name.")]) -> None:
    """Enable a disabled user again."""
    from tidyllm.access import set_disabled

    with UnifiedSessionManager() as sm:
        set_disabled(sm, name, False)
    console.print(f"enabled user {_out(name)}")


# --- tokens ----------------------------------------------------------------------------------


@tokens_app.command("create")
def tokens_create(
    user: Annotated[str, typer.Option("--user", help="Whose token it is.")],
    name: Annotated[str, typer.Option("--name", help="What uses it, e.g. ci-upload.")],
    expires: Annotated[
        str | None,
        typer.Option("--expires", help="Lifetime: 30m, 12h, 90d or 2w (default: until revoked)."),
    ] = None,
) -> None:
    """Create an API token; it is printed once, alone on stdout, and never shown again."""
    from tidyllm.access import create_token, parse_duration

    lifetime = parse_duration(expires) if expires is not None else None
    with UnifiedSessionManager() as sm:
        token = create_token(sm, user, name, expires=lifetime)
    info = token.info
    until = f"expires {_when(info.expires_at)}" if info.expires_at else "does not expire"
    err_console.print(
        f"created token {info.id} {_out(repr(info.name))} for {_out(info.user)} ({until}); "
        "copy it now: it will not be shown again",
        highlight=False,
    )
    sys.stdout.write(token.secret + "\n")  # raw: redaction would mask the one copy they get
    sys.stdout.flush()


@tokens_app.command("list")
def tokens_list(user: UserOption = None) -> None:
    """List tokens (never their secrets): owner, name, created, expires, last used, revoked."""
    from tidyllm.access import list_tokens

    with UnifiedSessionManager() as sm:
        tokens = list_tokens(sm, user=user)
    if not tokens:
        console.print("no tokens yet: tidyllm tokens create --user USER --name NAME")
        return
    table = Table("id", "user", "name", "created", "expires", "last used", "revoked")
    for t in tokens:
        table.add_row(
            str(t.id),
            _out(t.user),
            _out(t.name),
            _when(t.created_at),
            _when(t.expires_at, "never"),
            _when(t.last_used_at, "never"),
            _when(t.revoked_at, "no"),
        )
    console.print(table)


@tokens_app.command("revoke")
def tokens_revoke(token_id: Annotated[int, typer.Argument(help="Token id (tokens list).")]) -> None:
    """Revoke a token: the next request with it is refused."""
    from tidyllm.access import revoke_token

    with UnifiedSessionManager() as sm:
        info = revoke_token(sm, token_id)
    console.print(f"revoked token {info.id} {_out(repr(info.name))} of {_out(info.user)}")


# --- grants ----------------------------------------------------------------------------------


@grants_app.command("add")
def grants_add(
    domain: Annotated[str, typer.Argument(help="Domain name.")],
    user: UserOption = None,
    everyone: EveryoneOption = False,
    role: GrantRoleOption = "viewer",
) -> None:
    """Grant a user (or everyone) viewer or editor access to a domain."""
    from tidyllm.access import add_grant

    with UnifiedSessionManager() as sm:
        grant = add_grant(sm, domain, user=user, everyone=everyone, role=role)  # type: ignore[arg-type]
    who = _out(grant.user) if grant.user else "everyone"
    console.print(f"{who} is {grant.role} in domain {_out(grant.domain)}")


@grants_app.command("remove")
def grants_remove(
    domain: Annotated[str, typer.Argument(help="Domain name.")],
    user: UserOption = None,
    everyone: EveryoneOption = False,
) -> None:
    """Remove a user's (or everyone's) grant on a domain."""
    from tidyllm.access import remove_grant

    with UnifiedSessionManager() as sm:
        grant = remove_grant(sm, domain, user=user, everyone=everyone)
    who = _out(grant.user) if grant.user else "everyone"
    console.print(f"removed the {grant.role} grant of {who} in domain {_out(grant.domain)}")


@grants_app.command("list")
def grants_list(
    domain: Annotated[str | None, typer.Argument(help="Only this domain.")] = None,
) -> None:
    """List grants by domain."""
    from tidyllm.access import list_grants

    with UnifiedSessionManager() as sm:
        grants = list_grants(sm, domain)
    if not grants:
        console.print("no grants yet: tidyllm grants add DOMAIN --user USER --role viewer")
        return
    table = Table("domain", "user", "role", "since")
    for g in grants:
        table.add_row(
            _out(g.domain), _out(g.user) if g.user else "(everyone)", g.role, _when(g.created_at)
        )
    console.print(table)


# --- audit -----------------------------------------------------------------------------------


def audit(
    user: Annotated[str | None, typer.Option("--user", help="Only events by this actor.")] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="A duration back (1h, 7d) or a date (2026-12-01).")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", help="At most this many (the newest).")] = 1000,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON array.")] = False,
) -> None:
    """Show the audit log: who did what, when, from where (oldest first)."""
    from tidyllm.access import parse_since, read_audit

    start = parse_since(since) if since is not None else None
    with UnifiedSessionManager() as sm:
        events = read_audit(sm, user=user, since=start, limit=limit)
    if as_json:
        rows = [
            {
                "id": e.id,
                "at": e.at.isoformat(),
                "actor": e.actor_name,
                "actor_id": e.actor_id,
                "action": e.action,
                "target": e.target,
                "detail": e.detail,
                "client": e.client,
            }
            for e in events
        ]
        sys.stdout.write(redact(json.dumps(rows, ensure_ascii=True)) + "\n")
        return
    if not events:
        console.print("no audit events match")
        return
    table = Table("time", "actor", "action", "target", "client", "detail")
    for e in events:
        detail = json.dumps(e.detail, ensure_ascii=True) if e.detail else ""
        table.add_row(
            _when(e.at),
            _out(e.actor_name),
            e.action,
            _out(e.target),
            _out(e.client or ""),
            _out(detail),
        )
    console.print(table)
