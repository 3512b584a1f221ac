"""Chat sessions belong to their owner, in the library's queries (the HTTP routes only pass
the actor): listing, reading, continuing and deleting another's session all fail alike."""

from __future__ import annotations

import uuid

import pytest

import tidyllm.answering.chat as chat
from tidyllm.access import Actor, add_grant, add_user
from tidyllm.errors import ChatSessionNotFound, DomainNotFound, KnowledgeError

PASSWORD = "correct horse battery staple"


@pytest.fixture
def people(mv):
    """(sm, {name: Actor}): viewers ann and bob granted ``mv``, admin ada."""
    sm, _ = mv
    actors = {}
    for name, role in (("ann", "viewer"), ("bob", "viewer"), ("ada", "admin")):
        actors[name] = Actor(add_user(sm, name, role, PASSWORD).id, name, role)
        if role != "admin":
            add_grant(sm, "mv", user=name)
    return sm, actors


def test_only_the_owner_lists_reads_continues_or_deletes_a_session(people):
    sm, actors = people
    ann = actors["ann"]
    mine = chat.new_chat(sm, "mv", actor=ann)
    chat.chat_turn(sm, mine.id, "How many reviewers took part?", actor=ann)
    operators = chat.start_chat(sm, "mv")  # the CLI's, owned by no user
    assert [c.id for c in chat.list_chats(sm, "mv", actor=ann)] == [mine.id]
    assert [c.id for c in chat.list_chats(sm, "mv")] == [operators]
    assert chat.get_chat(sm, mine.id, actor=ann).messages == 2
    for other in (actors["bob"], actors["ada"], None):
        assert mine.id not in [c.id for c in chat.list_chats(sm, "mv", actor=other)]
        for call in (
            lambda who: chat.get_chat(sm, mine.id, actor=who),
            lambda who: chat.chat_history(sm, mine.id, actor=who),
            lambda who: chat.chat_turn(sm, mine.id, "and then?", actor=who),
            lambda who: chat.delete_chat(sm, mine.id, actor=who),
        ):
            with pytest.raises(ChatSessionNotFound, match=f"chat session {mine.id} does not"):
                call(other)
    assert chat.get_chat(sm, mine.id, actor=ann).messages == 2  # untouched
    with pytest.raises(ChatSessionNotFound):
        chat.get_chat(sm, operators, actor=ann)
    chat.delete_chat(sm, mine.id, actor=ann)
    with pytest.raises(ChatSessionNotFound):
        chat.chat_history(sm, mine.id, actor=ann)


def test_a_session_deleted_while_its_answer_is_made_is_not_found(people, monkeypatch):
    sm, actors = people
    ann = actors["ann"]
    sid = chat.start_chat(sm, "mv", actor=ann)
    real_ask = chat.ask

    def ask_then_delete(*args, **kwargs):
        answer = real_ask(*args, **kwargs)
        chat.delete_chat(sm, sid, actor=ann)
        return answer

    monkeypatch.setattr(chat, "ask", ask_then_delete)
    with pytest.raises(ChatSessionNotFound):
        chat.chat_turn(sm, sid, "How many reviewers took part?", actor=ann)
    with sm.connection() as conn:
        rows = conn.execute(
            "SELECT count(*) FROM chat_messages WHERE session_id = %s", (uuid.UUID(sid),)
        ).fetchone()
    assert rows == (0,)


def test_titles_and_limits(people):
    sm, actors = people
    bob = actors["bob"]
    untitled = chat.new_chat(sm, "mv", title="   ", actor=bob)
    assert untitled.title is None
    chat.chat_turn(sm, untitled.id, "  How many\treviewers took part?  ", actor=bob)
    assert chat.get_chat(sm, untitled.id, actor=bob).title == "How many reviewers took part?"
    assert chat.new_chat(sm, "mv", title="  two  words ", actor=bob).title == "two words"
    for bad in ("a\nb", "x" * 201, "bell\x07", 5):
        with pytest.raises(KnowledgeError, match="title"):
            chat.new_chat(sm, "mv", title=bad, actor=bob)  # type: ignore[arg-type]
    for limit in (0, 201, True, "5"):
        with pytest.raises(KnowledgeError, match="limit"):
            chat.list_chats(sm, "mv", limit=limit, actor=bob)  # type: ignore[arg-type]
    with pytest.raises(DomainNotFound):
        chat.list_chats(sm, "nowhere", actor=bob)
