"""Users and password logins: argon2 hashes, hostile names, throttling, audit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from access_helpers import PASSWORD, all_text, audit_rows

from tidyllm.access import (
    Actor,
    add_user,
    authenticate_password,
    delete_user,
    list_users,
    set_disabled,
    set_role,
)
from tidyllm.access.login import INVALID, THROTTLED
from tidyllm.errors import AccessError, AuthError, PermissionDenied, TidyLLMError

HOSTILE_NAMES = [
    "",
    " ",
    "x" * 65,
    "ali\x00ce",
    "alice\n",
    "\u202eecila",  # right-to-left override
    "Alice",
    "al ice",
    "a'; DROP TABLE users; --",
    "../etc/passwd",
    "-lead",
    "operator",
    None,
    3,
]


def test_add_list_set_role_delete(sm) -> None:
    user = add_user(sm, "alice", "editor", PASSWORD)
    assert (user.name, user.role, user.disabled_at) == ("alice", "editor", None)
    add_user(sm, "bob@example.com", "viewer", PASSWORD)
    assert [(u.name, u.role) for u in list_users(sm)] == [
        ("alice", "editor"),
        ("bob@example.com", "viewer"),
    ]
    assert set_role(sm, "alice", "admin").role == "admin"
    assert delete_user(sm, "alice").name == "alice"
    assert [u.name for u in list_users(sm)] == ["bob@example.com"]
    with pytest.raises(AccessError, match="'alice' does not exist") as info:
        delete_user(sm, "alice")
    assert info.value.hint == "`tidyllm users list` shows the users"
    with pytest.raises(AccessError, match="already exists"):
        add_user(sm, "bob@example.com", "viewer", PASSWORD)
    assert [r[1] for r in audit_rows(sm)] == [
        "user.add",
        "user.add",
        "user.set_role",
        "user.delete",
    ]
    assert audit_rows(sm)[2][3] == {"from": "editor", "to": "admin"}


@pytest.mark.real_argon2
def test_password_is_stored_only_as_an_argon2_hash(sm) -> None:
    add_user(sm, "alice", "viewer", PASSWORD)
    with sm.connection() as conn:
        stored = conn.execute("SELECT password_hash FROM users").fetchone()[0]
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert PASSWORD not in all_text(sm)
    assert authenticate_password(sm, "alice", PASSWORD).name == "alice"


def test_a_weaker_hash_is_upgraded_at_the_next_login(sm, monkeypatch) -> None:
    from argon2 import PasswordHasher

    from tidyllm.access import passwords

    add_user(sm, "alice", "viewer", PASSWORD)  # made with the fast test parameters
    monkeypatch.setattr(
        passwords, "_hasher", lambda: PasswordHasher(time_cost=2, memory_cost=64, parallelism=1)
    )
    authenticate_password(sm, "alice", PASSWORD)
    with sm.connection() as conn:
        stored = conn.execute("SELECT password_hash FROM users").fetchone()[0]
    assert "m=64,t=2,p=1" in stored


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_hostile_user_names_are_refused_before_the_database(data_dir, name) -> None:
    from tidyllm.session import UnifiedSessionManager

    with UnifiedSessionManager(data_dir=data_dir, database={"url": "postgresql://nowhere/x"}) as m:
        with pytest.raises(AccessError) as info:
            add_user(m, name, "viewer", PASSWORD)
        assert "\x00" not in str(info.value) and "\u202e" not in str(info.value)


@pytest.mark.parametrize("role", ["", "root", "Admin", "viewer ", None, "admin'--"])
def test_bad_roles_are_refused(sm, role) -> None:
    with pytest.raises(AccessError, match="invalid role") as info:
        add_user(sm, "alice", role, PASSWORD)
    assert info.value.hint == "choose one of: viewer, editor, admin"
    add_user(sm, "bob", "viewer", PASSWORD)
    with pytest.raises(AccessError, match="invalid role"):
        set_role(sm, "bob", role)


@pytest.mark.parametrize("password", ["", "short", "x" * 1025, None, 12345678])
def test_weak_or_absurd_passwords_are_refused_without_quoting_them(sm, password) -> None:
    with pytest.raises(AccessError, match="a password must be 8 to 1024 characters") as info:
        add_user(sm, "alice", "viewer", password)
    assert str(password) not in str(info.value) or password in ("", None)


def test_only_admins_manage_users(sm) -> None:
    add_user(sm, "alice", "editor", PASSWORD)
    editor = Actor(1, "alice", "editor")
    for call in (
        lambda: add_user(sm, "bob", "viewer", PASSWORD, actor=editor),
        lambda: list_users(sm, actor=editor),
        lambda: set_role(sm, "alice", "admin", actor=editor),
        lambda: delete_user(sm, "alice", actor=editor),
    ):
        with pytest.raises(PermissionDenied, match="needs the admin role"):
            call()
    assert [u.role for u in list_users(sm)] == ["editor"]


def test_login_success_and_failures_are_audited_with_one_message(sm) -> None:
    add_user(sm, "alice", "editor", PASSWORD)
    actor = authenticate_password(sm, "alice", PASSWORD, "10.0.0.1")
    assert (actor.name, actor.role) == ("alice", "editor")
    errors = []
    for name, password in (
        ("alice", "wrong password"),
        ("nobody", PASSWORD),
        ("Alice", PASSWORD),
        ("ali\x00ce", PASSWORD),
        ("alice", ""),
        ("alice", None),
        ("alice", "x" * 5000),
    ):
        with pytest.raises(AuthError) as info:
            authenticate_password(sm, name, password, f"10.0.0.{len(errors) + 2}")
        errors.append((str(info.value), info.value.hint))
    assert set(errors) == {(f"{INVALID}; check both and try again", "check both and try again")}
    rows = audit_rows(sm)
    logins = [(r[0], r[1], r[2], r[4]) for r in rows if r[1].startswith("login.")]
    assert logins[0] == ("alice", "login.success", "user:alice", "10.0.0.1")
    assert [r[1] for r in logins[1:]] == ["login.failure"] * 7
    # A name that cannot exist is not stored (it may be a password typed in the wrong box).
    assert {r[2] for r in logins[1:]} == {"user:alice", "user:nobody", "user:?"}
    assert "wrong password" not in all_text(sm)


def test_disabled_users_cannot_log_in_until_enabled(sm) -> None:
    add_user(sm, "alice", "viewer", PASSWORD)
    set_disabled(sm, "alice", True)
    with pytest.raises(AuthError, match=INVALID):
        authenticate_password(sm, "alice", PASSWORD)
    set_disabled(sm, "alice", False)
    assert authenticate_password(sm, "alice", PASSWORD).name == "alice"


def test_the_sixth_failure_within_a_minute_is_refused_without_checking(sm) -> None:
    add_user(sm, "alice", "viewer", PASSWORD)
    add_user(sm, "bob", "viewer", PASSWORD)
    t0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    for i in range(5):
        with pytest.raises(AuthError, match=INVALID):
            authenticate_password(sm, "alice", "wrong-guess", f"10.0.1.{i}", now=t0)
    # the 6th attempt within the minute: refused even with the right password, any address
    later = t0 + timedelta(seconds=59)
    with pytest.raises(AuthError, match=THROTTLED) as info:
        authenticate_password(sm, "alice", PASSWORD, "10.9.9.9", now=later)
    assert info.value.hint == "wait 60 seconds and try again"
    # other users are not affected
    assert authenticate_password(sm, "bob", PASSWORD, "10.9.9.9", now=later).name == "bob"
    # a minute after the failures, the right password works again
    assert authenticate_password(sm, "alice", PASSWORD, now=t0 + timedelta(seconds=61))
    actions = [r[1] for r in audit_rows(sm) if r[1].startswith("login.")]
    assert actions == ["login.failure"] * 5 + ["login.throttled"] + ["login.success"] * 2


def test_one_client_address_is_throttled_across_user_names(sm) -> None:
    add_user(sm, "alice", "viewer", PASSWORD)
    t0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    for name in ("u1", "u2", "u3", "u4", "u5"):
        with pytest.raises(AuthError, match=INVALID):
            authenticate_password(sm, name, "guess-guess", "203.0.113.7", now=t0)
    with pytest.raises(AuthError, match=THROTTLED):
        authenticate_password(sm, "alice", PASSWORD, "203.0.113.7", now=t0)
    assert authenticate_password(sm, "alice", PASSWORD, "198.51.100.1", now=t0).name == "alice"


def test_errors_are_tidyllm_errors_with_hints() -> None:
    assert issubclass(AuthError, TidyLLMError) and issubclass(PermissionDenied, TidyLLMError)
    error = PermissionDenied("x needs admin", hint="ask an admin")
    assert (str(error), error.message, error.hint) == (
        "x needs admin; ask an admin",
        "x needs admin",
        "ask an admin",
    )
