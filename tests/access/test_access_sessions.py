"""Browser sessions in the library: stored as a hash, absolute expiry, logout, CSRF token."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from access_helpers import PASSWORD, audit_rows

from tidyllm.access import Actor, add_user, delete_user, set_disabled, set_role
from tidyllm.access.sessions import (
    authenticate_session,
    csrf_matches,
    csrf_token,
    end_session,
    login,
)
from tidyllm.errors import AccessError, AuthError

HOUR = timedelta(hours=1)


def sessions_text(sm) -> str:
    with sm.connection() as conn:
        return "\n".join(str(r) for r in conn.execute("SELECT * FROM web_sessions").fetchall())


def test_a_session_is_stored_as_its_hash_and_names_its_user(sm) -> None:
    add_user(sm, "alice", "editor", PASSWORD)
    new = login(sm, "alice", PASSWORD, "10.0.0.1", lifetime=HOUR)
    assert new.secret not in repr(new) and new.csrf not in repr(new)
    stored = sessions_text(sm)
    assert new.secret not in stored and new.csrf not in stored
    assert hashlib.sha256(new.secret.encode()).hexdigest() in stored
    assert "10.0.0.1" in stored
    actor = authenticate_session(sm, new.secret)
    assert actor == new.actor == Actor(actor.user_id, "alice", "editor")
    assert [r[1] for r in audit_rows(sm)][-1] == "login.success"


def test_the_expiry_is_absolute_and_checked_on_every_request(sm) -> None:
    add_user(sm, "alice", "viewer", PASSWORD)
    start = datetime(2030, 1, 1, tzinfo=UTC)
    new = login(sm, "alice", PASSWORD, lifetime=HOUR, now=start)
    assert new.expires_at == start + HOUR
    assert authenticate_session(sm, new.secret, now=start + HOUR - timedelta(seconds=1))
    for later in (start + HOUR, start + 2 * HOUR):
        with pytest.raises(AuthError, match="session expired or logged out"):
            authenticate_session(sm, new.secret, now=later)


def test_logout_ends_the_session_and_is_audited(sm) -> None:
    add_user(sm, "alice", "viewer", PASSWORD)
    new = login(sm, "alice", PASSWORD, lifetime=HOUR)
    other = login(sm, "alice", PASSWORD, lifetime=HOUR)
    assert end_session(sm, new.secret, "10.0.0.2") is True
    with pytest.raises(AuthError):
        authenticate_session(sm, new.secret)
    assert authenticate_session(sm, other.secret).name == "alice"  # only that one ended
    assert end_session(sm, new.secret) is False
    assert audit_rows(sm)[-1] == ("alice", "session.end", "user:alice", {}, "10.0.0.2")


def test_the_user_s_current_state_decides(sm) -> None:
    add_user(sm, "alice", "editor", PASSWORD)
    new = login(sm, "alice", PASSWORD, lifetime=HOUR)
    set_role(sm, "alice", "viewer")
    assert authenticate_session(sm, new.secret).role == "viewer"  # no stale role
    set_disabled(sm, "alice", True)
    with pytest.raises(AuthError):
        authenticate_session(sm, new.secret)
    set_disabled(sm, "alice", False)
    assert authenticate_session(sm, new.secret)
    delete_user(sm, "alice")
    with pytest.raises(AuthError):
        authenticate_session(sm, new.secret)
    assert sessions_text(sm) == ""  # the row went with the user


def test_expired_sessions_are_deleted_at_a_later_login(sm) -> None:
    add_user(sm, "alice", "viewer", PASSWORD)
    start = datetime(2030, 1, 1, tzinfo=UTC)
    login(sm, "alice", PASSWORD, lifetime=HOUR, now=start)
    login(sm, "alice", PASSWORD, lifetime=HOUR, now=start + 2 * HOUR)
    with sm.connection() as conn:
        assert conn.execute("SELECT count(*) FROM web_sessions").fetchone()[0] == 1


@pytest.mark.parametrize(
    "session", [None, "", "x", "a" * 43 + "\x00", "a" * 44, "é" * 43, 42, "a" * 43]
)
def test_malformed_or_unknown_session_ids_get_one_refusal(sm, session) -> None:
    with pytest.raises(AuthError) as info:
        authenticate_session(sm, session)
    assert str(info.value) == "session expired or logged out; log in again"
    assert end_session(sm, session) is False


def test_a_wrong_password_starts_no_session_and_lifetime_must_be_positive(sm) -> None:
    add_user(sm, "alice", "viewer", PASSWORD)
    with pytest.raises(AuthError):
        login(sm, "alice", "wrong password", lifetime=HOUR)
    for lifetime in (timedelta(0), -HOUR, 3600):
        with pytest.raises(AccessError):
            login(sm, "alice", PASSWORD, lifetime=lifetime)  # type: ignore[arg-type]
    assert sessions_text(sm) == ""


def test_the_csrf_token_belongs_to_one_session() -> None:
    one, two = "a" * 43, "b" * 43
    assert csrf_token(one) == csrf_token(one) != csrf_token(two)
    assert len(csrf_token(one)) == 43 and csrf_token(one) not in (one, two)
    assert csrf_matches(one, csrf_token(one))
    for presented in (
        None,
        "",
        csrf_token(two),
        csrf_token(one)[:-1],
        csrf_token(one) + "x",
        "é" * 43,
        one,
    ):
        assert not csrf_matches(one, presented)
