"""Grants enforced in the library: role x granted for every domain operation.

A domain the actor was not granted must be indistinguishable from one that does not
exist: the same exception type, message and hint, from every operation, and "did you
mean" never names a domain the actor cannot see.
"""

from __future__ import annotations

import uuid

import pytest
from access_helpers import PASSWORD

from tidyllm.access import Actor, add_grant, add_user
from tidyllm.answering import ask
from tidyllm.answering.chat import chat_history, chat_turn, start_chat
from tidyllm.errors import DomainNotFound, KnowledgeError, PermissionDenied
from tidyllm.extraction import ExtractedDocument, Page
from tidyllm.knowledge import (
    create_domain,
    delete_domain,
    index_document,
    list_domains,
    search,
    set_domain_ocr,
    show_domain,
)
from tidyllm.knowledge.domains import get_domain, require_documents
from tidyllm.knowledge.ingest import ingest, sync_domain

DOC = ExtractedDocument(
    mime="text/plain",
    pages=(Page(1, "Stress tests check that banks hold enough capital under adverse scenarios."),),
)


def _get(sm, actor, name):
    with sm.connection() as conn:
        return get_domain(conn, name, actor=actor)


#: name -> (call, the role it needs); delete last: it removes the domain.
OPERATIONS = {
    "get": (_get, "viewer"),
    "show": (lambda sm, a, d: show_domain(sm, d, actor=a), "viewer"),
    "require_documents": (lambda sm, a, d: require_documents(sm, d, actor=a), "viewer"),
    "search": (lambda sm, a, d: search(sm, d, "capital", k=3, actor=a), "viewer"),
    "ask": (
        lambda sm, a, d: ask(sm, d, "What do stress tests check?", trace=False, actor=a),
        "viewer",
    ),
    "start_chat": (lambda sm, a, d: start_chat(sm, d, actor=a), "viewer"),
    "set_ocr": (lambda sm, a, d: set_domain_ocr(sm, d, False, actor=a), "editor"),
    "sync": (lambda sm, a, d: sync_domain(sm, d, actor=a), "editor"),
    "delete": (lambda sm, a, d: delete_domain(sm, d, actor=a), "admin"),
}
RANK = {"viewer": 0, "editor": 1, "admin": 2}


@pytest.fixture
def world(sm):
    """Domains alpha (one document) and bravo; a user per role, granted alpha or not.

    Users ``{role}-yes`` have a grant on alpha (viewer for viewers, editor otherwise);
    every user is granted bravo as viewer, so each sees one domain besides alpha.
    """
    create_domain(sm, "alpha")
    create_domain(sm, "bravo")
    index_document(
        sm, domain="alpha", document=DOC, source_uri="mem://a", version="1", content_hash="a"
    )
    actors = {}
    for role in ("viewer", "editor", "admin"):
        for granted in ("yes", "no"):
            name = f"{role}-{granted}"
            user = add_user(sm, name, role, PASSWORD)
            actors[name] = Actor(user.id, name, role)
            add_grant(sm, "bravo", user=name)
            if granted == "yes" and role != "admin":
                add_grant(sm, "alpha", user=name, role=role)
    return sm, actors


def _outcome(call, *args, **kwargs):
    try:
        call(*args, **kwargs)
    except (KnowledgeError, PermissionDenied) as exc:
        return type(exc), str(exc), getattr(exc, "hint", None)
    return "ok"


@pytest.mark.parametrize("role", ["viewer", "editor", "admin"])
@pytest.mark.parametrize("granted", ["yes", "no"])
def test_role_by_grant_matrix(world, role, granted) -> None:
    sm, actors = world
    actor = actors[f"{role}-{granted}"]
    sees = role == "admin" or granted == "yes"
    assert ("alpha" in [s.domain.name for s in list_domains(sm, actor=actor)]) is sees
    for name, (call, need) in OPERATIONS.items():
        outcome = _outcome(call, sm, actor, "alpha")
        if not sees:
            assert outcome[0] is DomainNotFound, name
        elif RANK[role] >= RANK[need]:
            assert outcome == "ok", (name, outcome)
        else:
            assert outcome[0] is PermissionDenied, (name, outcome)
            assert f"this needs {need}" in outcome[1]
    created = _outcome(lambda: create_domain(sm, "charlie", actor=actor))
    assert created == "ok" if role == "admin" else created[0] is PermissionDenied


@pytest.mark.parametrize("role", ["viewer", "editor"])
def test_not_granted_is_indistinguishable_from_missing(world, role) -> None:
    sm, actors = world
    actor = actors[f"{role}-no"]
    sid = start_chat(sm, "alpha")
    hidden = {n: _outcome(c, sm, actor, "alpha") for n, (c, _) in OPERATIONS.items()}
    hidden["chat_history"] = _outcome(chat_history, sm, sid, actor=actor)
    hidden["chat_turn"] = _outcome(chat_turn, sm, sid, "capital?", actor=actor)
    delete_domain(sm, "alpha")  # now it really does not exist
    missing = {n: _outcome(c, sm, actor, "alpha") for n, (c, _) in OPERATIONS.items()}
    missing["chat_history"] = _outcome(chat_history, sm, sid, actor=actor)
    missing["chat_turn"] = _outcome(chat_turn, sm, sid, "capital?", actor=actor)
    assert hidden == missing
    assert hidden["get"][1] == (
        "knowledge domain 'alpha' does not exist; the domain list shows the domains you can use"
    )
    assert hidden["chat_history"][1] == f"chat session {sid} does not exist"


def test_did_you_mean_names_only_visible_domains(world) -> None:
    sm, actors = world
    create_domain(sm, "alphas")
    viewer = actors["viewer-no"]
    with pytest.raises(DomainNotFound) as operator_view:
        show_domain(sm, "alpah")
    assert "did you mean 'alpha'" in str(operator_view.value)
    with pytest.raises(DomainNotFound) as viewer_view:
        show_domain(sm, "alpah", actor=viewer)
    assert "alpha" not in str(viewer_view.value).replace("'alpah'", "")
    add_grant(sm, "alphas", user="viewer-no")
    with pytest.raises(DomainNotFound, match="did you mean 'alphas'"):
        show_domain(sm, "alpah", actor=viewer)
    # a user with no domain at all is told so, without naming any
    loner = Actor(add_user(sm, "loner", "viewer", PASSWORD).id, "loner", "viewer")
    with pytest.raises(DomainNotFound) as info:
        search(sm, "alpha", "capital", actor=loner)
    assert str(info.value) == (
        "knowledge domain 'alpha' does not exist; "
        "no domain is shared with you yet: an admin grants access"
    )
    assert list_domains(sm, actor=loner) == []


def test_everyone_grants_and_role_caps(world) -> None:
    sm, actors = world
    add_grant(sm, "alpha", everyone=True, role="editor")
    viewer, editor = actors["viewer-no"], actors["editor-no"]
    assert search(sm, "alpha", "capital", actor=viewer).hits  # everyone may read now
    with pytest.raises(PermissionDenied) as info:  # a viewer stays a viewer
        set_domain_ocr(sm, "alpha", True, actor=viewer)
    assert (
        info.value.hint == "an admin can raise the role: `tidyllm users set-role viewer-no editor`"
    )
    assert set_domain_ocr(sm, "alpha", True, actor=editor).ocr is True
    with pytest.raises(PermissionDenied) as info:
        delete_domain(sm, "alpha", actor=editor)
    assert info.value.hint == "only an admin can do this"


def test_a_granted_viewer_gets_permission_denied_with_a_working_hint(world) -> None:
    sm, actors = world
    add_grant(sm, "alpha", user="editor-no", role="viewer")
    with pytest.raises(PermissionDenied) as info:
        set_domain_ocr(sm, "alpha", True, actor=actors["editor-no"])
    assert str(info.value) == (
        "user 'editor-no' has the viewer role in domain 'alpha'; this needs editor; "
        "an admin can grant it: `tidyllm grants add alpha --user editor-no --role editor`"
    )


def test_chat_sessions_follow_their_domain_s_grants(world) -> None:
    sm, actors = world
    viewer = actors["viewer-yes"]
    sid = start_chat(sm, "alpha", actor=viewer)
    answer = chat_turn(sm, sid, "What do stress tests check?", actor=viewer)
    assert answer.found
    assert [m.role for m in chat_history(sm, sid, actor=viewer)] == ["user", "assistant"]
    with pytest.raises(KnowledgeError, match=f"chat session {sid} does not exist"):
        chat_history(sm, sid, actor=actors["viewer-no"])
    with pytest.raises(KnowledgeError, match="does not exist"):
        chat_history(sm, str(uuid.uuid4()), actor=viewer)


def test_domain_create_and_delete_are_audited_when_an_actor_is_given(world) -> None:
    from tidyllm.access import read_audit

    sm, actors = world
    admin = actors["admin-no"]
    create_domain(sm, "charlie", actor=admin)
    delete_domain(sm, "charlie", actor=admin)
    events = [(e.actor_name, e.action, e.target) for e in read_audit(sm)][-2:]
    assert events == [
        ("admin-no", "domain.create", "domain:charlie"),
        ("admin-no", "domain.delete", "domain:charlie"),
    ]
    create_domain(sm, "delta")  # the operator without an actor: today's behaviour, no event
    assert read_audit(sm)[-1].target == "domain:charlie"


def test_ingest_needs_the_editor_role_before_anything_is_copied(world, tmp_path) -> None:
    sm, actors = world
    source = tmp_path / "note.txt"
    source.write_text("Capital planning notes.")
    with pytest.raises(DomainNotFound):
        ingest(sm, "alpha", [str(source)], track=False, actor=actors["editor-no"])
    with pytest.raises(PermissionDenied, match="this needs editor"):
        ingest(sm, "alpha", [str(source)], track=False, actor=actors["viewer-yes"])
    with pytest.raises(PermissionDenied, match="this needs editor"):
        ingest(sm, "alpha", [str(source)], ocr=True, track=False, actor=actors["viewer-yes"])
    assert show_domain(sm, "alpha").documents == 1
    report = ingest(sm, "alpha", [str(source)], track=False, actor=actors["editor-yes"])
    assert [item.state for item in report.items] == ["done"]
    assert show_domain(sm, "alpha").documents == 2
