"""Grants: add/remove/list for a user or everyone, roles capped by the user's own role,
cascades, and the audit log's append-only guarantee."""

from __future__ import annotations

import psycopg
import pytest
from access_helpers import PASSWORD, audit_rows

from tidyllm.access import (
    Actor,
    add_grant,
    add_user,
    delete_user,
    domain_role,
    list_grants,
    read_audit,
    record,
    remove_grant,
)
from tidyllm.errors import AccessError, DomainNotFound, PermissionDenied
from tidyllm.knowledge import create_domain, delete_domain


def _actor(user) -> Actor:
    return Actor(user.id, user.name, user.role)


def _role(sm, actor, domain) -> str | None:
    with sm.connection() as conn:
        domain_id = conn.execute("SELECT id FROM domains WHERE name = %s", (domain,)).fetchone()
        return domain_role(conn, actor, domain_id[0])


def test_grants_for_users_and_everyone(sm) -> None:
    create_domain(sm, "fed")
    create_domain(sm, "hr")
    viewer = _actor(add_user(sm, "val", "viewer", PASSWORD))
    editor = _actor(add_user(sm, "eve", "editor", PASSWORD))
    admin = _actor(add_user(sm, "ada", "admin", PASSWORD))
    assert [_role(sm, a, "fed") for a in (viewer, editor, admin)] == [None, None, "admin"]
    add_grant(sm, "fed", everyone=True)
    assert [_role(sm, a, "fed") for a in (viewer, editor)] == ["viewer", "viewer"]
    add_grant(sm, "fed", user="eve", role="editor")
    add_grant(sm, "fed", user="val", role="editor")  # capped by val's own role
    assert [_role(sm, a, "fed") for a in (viewer, editor)] == ["viewer", "editor"]
    add_grant(sm, "fed", user="eve", role="viewer")  # re-granting changes the role
    assert _role(sm, editor, "fed") == "viewer"
    assert _role(sm, editor, "hr") is None
    listed = [(g.domain, g.user, g.role) for g in list_grants(sm)]
    assert listed == [("fed", None, "viewer"), ("fed", "eve", "viewer"), ("fed", "val", "editor")]
    assert remove_grant(sm, "fed", everyone=True).role == "viewer"
    assert _role(sm, viewer, "fed") == "viewer"  # val's own grant, capped
    assert [g.user for g in list_grants(sm, "fed")] == ["eve", "val"]
    assert list_grants(sm, "hr") == []
    actions = [r[1] for r in audit_rows(sm) if r[1].startswith("grant.")]
    assert actions == ["grant.add"] * 4 + ["grant.remove"]
    assert audit_rows(sm)[-1][2] == "domain:fed everyone"


def test_grants_go_with_their_domain_or_user(sm) -> None:
    create_domain(sm, "fed")
    add_user(sm, "val", "viewer", PASSWORD)
    add_grant(sm, "fed", user="val")
    delete_user(sm, "val")
    assert list_grants(sm) == []
    val = _actor(add_user(sm, "val", "viewer", PASSWORD))
    add_grant(sm, "fed", user="val")
    delete_domain(sm, "fed")
    assert list_grants(sm) == []
    create_domain(sm, "fed")  # a new domain of the same name grants nothing
    assert _role(sm, val, "fed") is None


def test_bad_grants_are_clear_errors(sm) -> None:
    create_domain(sm, "fed")
    add_user(sm, "val", "viewer", PASSWORD)
    with pytest.raises(AccessError, match="invalid role 'admin'"):
        add_grant(sm, "fed", user="val", role="admin")  # admins need no grant
    with pytest.raises(AccessError, match="one user or for everyone"):
        add_grant(sm, "fed")
    with pytest.raises(AccessError, match="one user or for everyone"):
        add_grant(sm, "fed", user="val", everyone=True)
    with pytest.raises(AccessError, match="'nobody' does not exist"):
        add_grant(sm, "fed", user="nobody")
    with pytest.raises(DomainNotFound, match="'fedd' does not exist; did you mean 'fed'"):
        add_grant(sm, "fedd", user="val")
    with pytest.raises(AccessError, match="user 'val' has no grant in domain 'fed'") as info:
        remove_grant(sm, "fed", user="val")
    assert info.value.hint == "`tidyllm grants list fed` shows its grants"
    for name in ("'; DROP TABLE grants; --", "val\x00", "\u202eval"):
        with pytest.raises(AccessError, match="invalid user name"):
            add_grant(sm, "fed", user=name)
    assert list_grants(sm) == []


def test_only_admins_manage_grants_and_read_the_audit(sm) -> None:
    create_domain(sm, "fed")
    editor = _actor(add_user(sm, "eve", "editor", PASSWORD))
    add_grant(sm, "fed", user="eve", role="editor")
    for call in (
        lambda: add_grant(sm, "fed", user="eve", role="editor", actor=editor),
        lambda: remove_grant(sm, "fed", user="eve", actor=editor),
        lambda: list_grants(sm, actor=editor),
        lambda: read_audit(sm, actor=editor),
    ):
        with pytest.raises(PermissionDenied, match="needs the admin role"):
            call()


def test_audit_rows_cannot_be_changed_or_removed(sm) -> None:
    with sm.connection() as conn:
        record(conn, None, "user.add", "user:x", {"role": "viewer"}, "127.0.0.1")
    for statement in (
        "UPDATE audit_events SET actor_name = 'someone else'",
        "DELETE FROM audit_events",
        "TRUNCATE audit_events",
    ):
        with sm.connection() as conn, pytest.raises(psycopg.errors.RaiseException):
            conn.execute(statement)
    [event] = read_audit(sm)
    assert (event.actor_name, event.actor_id, event.action, event.target, event.client) == (
        "operator",
        None,
        "user.add",
        "user:x",
        "127.0.0.1",
    )


def test_audit_is_written_with_the_change_or_not_at_all(sm) -> None:
    """An event shares its change's transaction: a failed change leaves no event."""
    add_user(sm, "val", "viewer", PASSWORD)
    before = len(audit_rows(sm))
    with pytest.raises(AccessError):
        add_user(sm, "val", "viewer", PASSWORD)
    with (
        pytest.raises(psycopg.errors.CheckViolation),
        sm.connection() as conn,
        conn.transaction(),
    ):
        record(conn, None, "user.add", "user:y")
        conn.execute("INSERT INTO users (name, role, password_hash) VALUES ('Y', 'x', '')")
    assert len(audit_rows(sm)) == before


def test_read_audit_filters(sm) -> None:
    from datetime import UTC, datetime

    add_user(sm, "val", "viewer", PASSWORD)
    with sm.connection() as conn:
        old = datetime(2020, 1, 1, tzinfo=UTC)
        record(conn, Actor(None, "operator", "admin"), "grant.add", "old", at=old)
    assert [e.target for e in read_audit(sm)] == ["user:val", "old"]
    assert [e.target for e in read_audit(sm, since=datetime(2021, 1, 1, tzinfo=UTC))] == [
        "user:val"
    ]
    assert read_audit(sm, user="val") == []
    assert len(read_audit(sm, user="operator", limit=1)) == 1
    for bad in (0, -1, 10_001, True, "5"):
        with pytest.raises(AccessError, match="limit"):
            read_audit(sm, limit=bad)
