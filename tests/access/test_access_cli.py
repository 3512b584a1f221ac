"""The CLI: users, tokens, grants, audit. Secrets never printed (but the new token, once),
never logged, never stored in the clear; every hint printed works when run as printed."""

from __future__ import annotations

import json
import re
import shlex

import pytest
from access_helpers import PASSWORD, all_text

from tidyllm.access import authenticate_token, list_tokens

TOKEN_RE = re.compile(r"tidyllm_[A-Za-z0-9_-]{43}")


def run_hints(cli, output: str) -> list[str]:
    """Run every `tidyllm ...` command quoted in ``output``; each must succeed."""
    commands = re.findall(r"`(tidyllm [^`]+)`", output)
    for command in commands:
        result = cli(*shlex.split(command)[1:])
        assert result.exit_code == 0, (command, result.output)
    return commands


def test_users_tokens_grants_audit_journey(cli, cli_env, sm, debug_log, caplog) -> None:
    caplog.set_level("DEBUG")
    outputs = []

    def ok(*args, input=None):
        result = cli(*args, input=input)
        outputs.append(result.output)
        assert result.exit_code == 0, (args, result.output)
        return result

    ok("users", "add", "alice", "--role", "editor", "--password-stdin", input=PASSWORD + "\n")
    ok("users", "add", "bob", "--password-stdin", input=PASSWORD)
    listed = ok("users", "list").stdout
    assert "alice" in listed and "editor" in listed and "bob" in listed
    assert "user bob is now admin" in ok("users", "set-role", "bob", "admin").stdout
    ok("domains", "create", "fed")
    assert (
        "alice is editor in domain fed"
        in ok("grants", "add", "fed", "--user", "alice", "--role", "editor").stdout
    )
    assert "everyone is viewer" in ok("grants", "add", "fed", "--everyone").stdout
    grants = ok("grants", "list", "fed").stdout
    assert "(everyone)" in grants and "alice" in grants

    created = ok("tokens", "create", "--user", "alice", "--name", "ci", "--expires", "90d")
    [token] = TOKEN_RE.findall(created.stdout)
    assert created.stdout == token + "\n"  # alone on stdout: TOKEN=$(tidyllm tokens create ...)
    assert "will not be shown again" in created.stderr and token not in created.stderr
    assert authenticate_token(sm, token).name == "alice"
    tokens = ok("tokens", "list", "--user", "alice").stdout
    assert "ci" in tokens and "alice" in tokens
    assert "revoked token 1 'ci' of alice" in ok("tokens", "revoke", "1").stdout
    assert list_tokens(sm)[0].revoked_at is not None
    ok("grants", "remove", "fed", "--user", "alice")
    ok("users", "disable", "bob")
    ok("users", "enable", "bob")
    ok("users", "delete", "bob", "--yes")

    events = json.loads(ok("audit", "--json").stdout)
    assert [e["action"] for e in events] == [
        "user.add",
        "user.add",
        "user.set_role",
        "grant.add",
        "grant.add",
        "token.create",
        "token.revoke",
        "grant.remove",
        "user.disable",
        "user.enable",
        "user.delete",
    ]
    assert {e["actor"] for e in events} == {"operator"}
    assert "token.create" in ok("audit", "--since", "1h").stdout
    assert json.loads(ok("audit", "--since", "2999-01-01", "--json").stdout) == []
    assert json.loads(ok("audit", "--user", "nobody", "--json").stdout) == []

    # the password and the token: nowhere but the one line that showed the token
    shown_once = "\n".join(outputs).replace(created.stdout, "")
    logs = debug_log.read_text() + "\n".join(r.getMessage() for r in caplog.records)
    for secret in (PASSWORD, token):
        assert secret not in shown_once
        assert secret not in logs
        assert secret not in all_text(sm)


def test_password_prompt_asks_twice(cli, cli_env, monkeypatch) -> None:
    from tidyllm.cli import access_cmd

    monkeypatch.setattr(access_cmd, "_interactive", lambda: True)
    result = cli("users", "add", "carol", input=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output
    mismatch = cli("users", "add", "dave", input=f"{PASSWORD}\nother-password\n" * 3)
    assert mismatch.exit_code != 0


def test_errors_are_one_clear_line_and_their_hints_work(cli, cli_env) -> None:
    assert cli("domains", "create", "fed").exit_code == 0
    assert cli("users", "add", "alice", "--password-stdin", input=PASSWORD).exit_code == 0
    cases = [
        (("users", "add", "alice", "--password-stdin"), "already exists"),
        (("users", "add", "Alice", "--password-stdin"), "invalid user name"),
        (("users", "add", "eve", "--role", "root", "--password-stdin"), "invalid role 'root'"),
        (("users", "add", "eve"), "no terminal to ask for the password"),
        (("users", "delete", "nobody", "--yes"), "user 'nobody' does not exist"),
        (("users", "set-role", "alice", "god"), "invalid role 'god'"),
        (("tokens", "create", "--user", "alice", "--name", "x", "--expires", "soon"), "--expires"),
        (("tokens", "create", "--user", "nobody", "--name", "x"), "'nobody' does not exist"),
        (("tokens", "revoke", "99"), "token 99 does not exist"),
        (("grants", "add", "fedd", "--user", "alice"), "did you mean 'fed'"),
        (("grants", "add", "fed"), "one user or for everyone"),
        (("grants", "remove", "fed", "--user", "alice"), "has no grant in domain 'fed'"),
        (("grants", "add", "fed", "--user", "alice", "--role", "admin"), "invalid role"),
        (("audit", "--since", "last tuesday"), "--since"),
    ]
    hints = []
    for args, expected in cases:
        result = cli(*args, input=PASSWORD)
        assert result.exit_code == 1, (args, result.output)
        assert expected in result.output, (args, result.output)
        assert "Traceback" not in result.output
        assert len(result.output.strip().splitlines()) == 1, result.output
        hints += run_hints(cli, result.output)
    assert set(hints) >= {
        "tidyllm users list",
        "tidyllm tokens list",
        "tidyllm grants list fed",
    }


@pytest.mark.parametrize("name", ["ali\x00ce", "\u202eecila", "x" * 300, "'; DROP TABLE users;--"])
def test_hostile_names_on_the_command_line(cli, cli_env, name) -> None:
    result = cli("users", "add", name, "--password-stdin", input=PASSWORD)
    assert result.exit_code == 1
    assert "\x00" not in result.output and "\u202e" not in result.output
    assert "invalid user name" in result.output
    assert cli("users", "list").stdout.startswith("no users yet")
