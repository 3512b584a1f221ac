"""API tokens: shown once, stored as SHA-256, one refusal for unknown/revoked/expired."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from access_helpers import PASSWORD, all_text, audit_rows

from tidyllm.access import (
    Actor,
    add_user,
    authenticate_token,
    create_token,
    delete_user,
    list_tokens,
    parse_duration,
    parse_since,
    revoke_token,
    set_disabled,
    set_role,
)
from tidyllm.errors import AccessError, AuthError, PermissionDenied
from tidyllm.redaction import redact

REFUSED = "invalid, revoked or expired token; ask an admin for a new token"


def refusal(sm, token, **kwargs) -> str:
    with pytest.raises(AuthError) as info:
        authenticate_token(sm, token, **kwargs)
    return str(info.value)


def test_a_token_is_shown_once_and_stored_as_its_hash(sm) -> None:
    add_user(sm, "alice", "editor", PASSWORD)
    new = create_token(sm, "alice", "ci upload")
    assert new.secret.startswith("tidyllm_") and len(new.secret) == 51
    assert new.secret not in repr(new) and redact(new.secret) == "***"
    assert (new.info.user, new.info.name, new.info.expires_at) == ("alice", "ci upload", None)
    text = all_text(sm)
    assert new.secret not in text and new.secret[8:] not in text
    assert hashlib.sha256(new.secret.encode()).hexdigest() in text
    actor = authenticate_token(sm, new.secret)
    assert actor == Actor(actor.user_id, "alice", "editor")
    [listed] = list_tokens(sm)
    assert listed.last_used_at is not None and new.secret not in repr(listed)
    assert [r[1] for r in audit_rows(sm)] == ["user.add", "token.create"]
    assert audit_rows(sm)[1][3] == {"user": "alice", "name": "ci upload", "expires_at": None}


def test_unknown_revoked_expired_and_tampered_tokens_get_one_message(sm) -> None:
    add_user(sm, "alice", "viewer", PASSWORD)
    t0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    good = create_token(sm, "alice", "a", expires=parse_duration("90d"), now=t0).secret
    assert authenticate_token(sm, good, now=t0 + timedelta(days=89)).name == "alice"
    last = good[-1]
    tampered = [
        good[:-1] + ("A" if last != "A" else "B"),  # one character changed
        good.upper(),
        good + "x",
        good[:-1],
        "tidyllm_" + "A" * 43,  # well-formed, never issued
        good.replace("tidyllm_", "tidyll_"),
        good + "\n",
        good + "\x00",
        "' OR 1=1 --",
        "",
        None,
        b"bytes",
        "x" * 100_000,
    ]
    messages = {refusal(sm, t) for t in tampered}
    messages.add(refusal(sm, good, now=t0 + timedelta(days=90, seconds=1)))  # expired
    revoke_token(sm, 1)
    messages.add(refusal(sm, good, now=t0 + timedelta(days=1)))  # revoked
    assert messages == {REFUSED}


def test_revoked_token_stops_on_the_next_request_and_others_keep_working(sm) -> None:
    add_user(sm, "alice", "viewer", PASSWORD)
    one = create_token(sm, "alice", "laptop")
    two = create_token(sm, "alice", "ci")
    assert authenticate_token(sm, one.secret).name == "alice"
    revoked = revoke_token(sm, one.info.id)
    assert revoked.revoked_at is not None
    assert refusal(sm, one.secret) == REFUSED
    assert authenticate_token(sm, two.secret).name == "alice"
    assert [r[1] for r in audit_rows(sm)][-1] == "token.revoke"


def test_a_disabled_or_deleted_user_s_tokens_stop_working(sm) -> None:
    add_user(sm, "alice", "viewer", PASSWORD)
    token = create_token(sm, "alice", "t").secret
    set_disabled(sm, "alice", True)
    assert refusal(sm, token) == REFUSED
    set_disabled(sm, "alice", False)
    set_role(sm, "alice", "editor")
    assert authenticate_token(sm, token).role == "editor"  # the role of now, not of creation
    delete_user(sm, "alice")
    assert refusal(sm, token) == REFUSED
    assert list_tokens(sm) == []


def test_last_used_is_kept_to_the_minute(sm) -> None:
    add_user(sm, "alice", "viewer", PASSWORD)
    t0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    token = create_token(sm, "alice", "t", now=t0).secret
    authenticate_token(sm, token, now=t0 + timedelta(seconds=10))
    authenticate_token(sm, token, now=t0 + timedelta(seconds=40))  # no second write
    assert list_tokens(sm)[0].last_used_at == t0 + timedelta(seconds=10)
    authenticate_token(sm, token, now=t0 + timedelta(seconds=80))
    assert list_tokens(sm)[0].last_used_at == t0 + timedelta(seconds=80)


def test_users_manage_only_their_own_tokens(sm) -> None:
    alice = Actor(add_user(sm, "alice", "viewer", PASSWORD).id, "alice", "viewer")
    add_user(sm, "bob", "viewer", PASSWORD)
    mine = create_token(sm, "alice", "mine", actor=alice)
    bobs = create_token(sm, "bob", "bob's")
    with pytest.raises(PermissionDenied, match="another user needs the admin role"):
        create_token(sm, "bob", "stolen", actor=alice)
    assert [t.name for t in list_tokens(sm, actor=alice)] == ["mine"]
    with pytest.raises(AccessError, match=f"token {bobs.info.id} does not exist"):
        revoke_token(sm, bobs.info.id, actor=alice)  # as if it did not exist
    assert revoke_token(sm, mine.info.id, actor=alice).revoked_at is not None
    assert authenticate_token(sm, bobs.secret).name == "bob"


@pytest.mark.parametrize(
    "name", ["", "   ", "x" * 101, "ci\x00", "\u202etoken", "line\nbreak", None, 7]
)
def test_bad_token_names_are_refused(sm, name) -> None:
    add_user(sm, "alice", "viewer", PASSWORD)
    with pytest.raises(AccessError, match="invalid token name"):
        create_token(sm, "alice", name)
    assert list_tokens(sm) == []


@pytest.mark.parametrize(
    "text", ["", "90", "d", "90 days", "-5d", "0d", "3651d", "1.5h", "90D", "1y", "9" * 20, None]
)
def test_bad_durations_are_clear_errors(text) -> None:
    with pytest.raises(AccessError, match="--expires") as info:
        parse_duration(text)
    assert info.value.hint


def test_durations_and_since() -> None:
    assert parse_duration("90d") == timedelta(days=90)
    assert parse_duration("30m") == timedelta(minutes=30)
    assert parse_duration("2w") == timedelta(weeks=2)
    now = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
    assert parse_since("1h", now) == datetime(2026, 12, 2, 11, 0, tzinfo=UTC)
    assert parse_since("2026-12-01", now) == datetime(2026, 12, 1, tzinfo=UTC)
    for bad in ("yesterday", "2026-13-01", "", "1h; DROP TABLE audit_events"):
        with pytest.raises(AccessError, match="--since"):
            parse_since(bad, now)
