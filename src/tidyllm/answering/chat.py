"""Chat sessions: history in PostgreSQL, follow-up questions rewritten before retrieval.

A follow-up such as "and who leads it now?" retrieves nothing useful on its
own. With a remote LLM the history and the question are rewritten into one
standalone query by the model. The offline default has no model to ask, so it
uses a transparent rule: a question that refers back (a pronoun such as
"it"/"they"/"that", "what about ...", or five words or fewer) is searched
together with the previous turn's search query. The rewritten query is
stored with the message, so what was searched is always visible.

A session belongs to the user who opened it (``chat_sessions.user_id``; NULL for the
operator): every query finds a session by its id *and* its owner *and* a grant on its
domain, so another user's session, or one of a domain no longer granted, does not exist
for the caller - the same :class:`ChatSessionNotFound` as a wrong id.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg import sql
from psycopg.types.json import Jsonb

from tidyllm.access.actor import Actor, acting
from tidyllm.access.audit import record
from tidyllm.access.grants import VISIBLE, visibility
from tidyllm.answering.ask import Answer, ask
from tidyllm.answering.generators import OnText, rewrite_question
from tidyllm.errors import ChatSessionNotFound, KnowledgeError
from tidyllm.knowledge.catalog import DocumentFilter
from tidyllm.knowledge.domains import get_domain
from tidyllm.knowledge.search import clean_query

HISTORY_TURNS = 6
MAX_TITLE_CHARS = 200
MAX_LISTED = 200
MAX_REWRITE_CHARS = 2000
_REFERS_BACK = re.compile(
    r"\b(it|its|they|them|their|theirs|this|that|these|those|he|him|his|she|her|there|"
    r"same|such|former|latter|above)\b",
    re.IGNORECASE,
)
_CONTINUES = ("and ", "what about", "how about", "also ", "why", "then ")
#: SQL condition on a session ``s`` of domain ``d``: the actor's own, in a domain they may
#: see (parameters: ``visibility(actor)``).
_USABLE = sql.SQL("s.user_id IS NOT DISTINCT FROM %(actor_id)s AND {visible}").format(
    visible=VISIBLE
)
_SESSION_COLUMNS = sql.SQL(
    "s.id, d.name, s.title, s.created_at, s.updated_at, "
    "(SELECT count(*) FROM chat_messages m WHERE m.session_id = s.id)"
)
_SESSION = sql.SQL(
    "SELECT {columns} FROM chat_sessions s JOIN domains d ON d.id = s.domain_id "
    "WHERE s.id = %(sid)s AND {usable}"
).format(columns=_SESSION_COLUMNS, usable=_USABLE)
_LIST = sql.SQL(
    "SELECT {columns} FROM chat_sessions s JOIN domains d ON d.id = s.domain_id "
    "WHERE d.id = %(domain_id)s AND {usable} ORDER BY s.updated_at DESC, s.id LIMIT %(limit)s"
).format(columns=_SESSION_COLUMNS, usable=_USABLE)
_RENAME = sql.SQL(
    "UPDATE chat_sessions s SET title = %(title)s FROM domains d "
    "WHERE d.id = s.domain_id AND s.id = %(sid)s AND {usable} RETURNING d.name"
).format(usable=_USABLE)
_DELETE = sql.SQL(
    "DELETE FROM chat_sessions s USING domains d "
    "WHERE d.id = s.domain_id AND s.id = %(sid)s AND {usable} RETURNING d.name"
).format(usable=_USABLE)


@dataclass(frozen=True)
class ChatSession:
    """A session as its owner sees it: ``messages`` counts both roles."""

    id: str
    domain: str
    title: str | None
    created_at: datetime
    updated_at: datetime
    messages: int


@dataclass(frozen=True)
class ChatMessage:
    """One stored turn."""

    role: str
    content: str
    retrieval_query: str | None
    citations: list[dict[str, Any]]
    created_at: datetime


def _session_uuid(session_id: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(session_id))
    except ValueError:
        raise KnowledgeError(f"{session_id!r} is not a chat session id") from None


def _not_found(session_id: str) -> ChatSessionNotFound:
    return ChatSessionNotFound(f"chat session {session_id} does not exist")


def _session(conn: Any, sid: uuid.UUID, session_id: str, actor: Actor | None) -> ChatSession:
    row = conn.execute(_SESSION, {"sid": sid, **visibility(actor)}).fetchone()
    if row is None:
        raise _not_found(session_id)
    return _row_to_session(row)


def _row_to_session(row: tuple[Any, ...]) -> ChatSession:
    return ChatSession(str(row[0]), *row[1:])


def _one_line(text: str) -> str:
    """``text`` as one line: whitespace runs become one space, other unprintables go."""
    return " ".join("".join(c for c in text if c.isprintable() or c.isspace()).split())


def _check_title(title: object) -> str | None:
    """A title to list the session by: plain text of one line, or None."""
    if title is None:
        return None
    if not isinstance(title, str):
        raise KnowledgeError(f"a chat title must be text, not {type(title).__name__}")
    cleaned = _one_line(title)
    if len(cleaned) > MAX_TITLE_CHARS or any(not c.isprintable() for c in title if c != " "):
        raise KnowledgeError(
            f"a chat title is one line of at most {MAX_TITLE_CHARS} characters, no control "
            "characters"
        )
    return cleaned or None


def new_chat(
    sm: Any, domain: str, *, title: str | None = None, actor: Actor | None = None
) -> ChatSession:
    """Open a new chat session on ``domain``, owned by ``actor`` (None: the operator)."""
    title = _check_title(title)
    with sm.connection() as conn:
        dom = get_domain(conn, domain, actor=actor)
        row = conn.execute(
            "INSERT INTO chat_sessions (domain_id, title, user_id) VALUES (%s, %s, %s) "
            "RETURNING id, %s::text, title, created_at, updated_at, 0",
            (dom.id, title, acting(actor).user_id, dom.name),
        ).fetchone()
    return _row_to_session(row)


def start_chat(
    sm: Any, domain: str, *, title: str | None = None, actor: Actor | None = None
) -> str:
    """Open a new chat session on ``domain``; returns its id (see :func:`new_chat`)."""
    return new_chat(sm, domain, title=title, actor=actor).id


def list_chats(
    sm: Any, domain: str, *, limit: int = 50, actor: Actor | None = None
) -> list[ChatSession]:
    """The actor's own sessions on ``domain``, most recently used first.

    Only their own: a chat is a private conversation, so admins list only theirs too.
    """
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LISTED:
        raise KnowledgeError(f"limit must be 1 to {MAX_LISTED}, got {limit!r}")
    with sm.connection() as conn:
        dom = get_domain(conn, domain, actor=actor)
        rows = conn.execute(
            _LIST, {"domain_id": dom.id, "limit": limit, **visibility(actor)}
        ).fetchall()
    return [_row_to_session(r) for r in rows]


def get_chat(sm: Any, session_id: str, *, actor: Actor | None = None) -> ChatSession:
    """One of the actor's sessions (:class:`ChatSessionNotFound` for anyone else's)."""
    sid = _session_uuid(session_id)
    with sm.connection() as conn:
        return _session(conn, sid, session_id, actor)


def rename_chat(
    sm: Any, session_id: str, title: str | None, *, actor: Actor | None = None
) -> ChatSession:
    """Give one of the actor's sessions a new title (None: no title; the next question
    names it); audited (``chat.rename``). The owner and grant are checked in the UPDATE
    itself, so anyone else's session is :class:`ChatSessionNotFound`."""
    title = _check_title(title)
    sid = _session_uuid(session_id)
    with sm.connection() as conn, conn.transaction():
        row = conn.execute(_RENAME, {"sid": sid, "title": title, **visibility(actor)}).fetchone()
        if row is None:
            raise _not_found(session_id)
        record(conn, actor, "chat.rename", f"chat:{sid}", {"domain": row[0]})
        return _session(conn, sid, session_id, actor)


def delete_chat(sm: Any, session_id: str, *, actor: Actor | None = None) -> None:
    """Delete one of the actor's sessions with its messages; audited (``chat.delete``)."""
    sid = _session_uuid(session_id)
    with sm.connection() as conn, conn.transaction():
        row = conn.execute(_DELETE, {"sid": sid, **visibility(actor)}).fetchone()
        if row is None:
            raise _not_found(session_id)
        record(conn, actor, "chat.delete", f"chat:{sid}", {"domain": row[0]})


def chat_history(sm: Any, session_id: str, *, actor: Actor | None = None) -> list[ChatMessage]:
    """Every message of a session, oldest first."""
    sid = _session_uuid(session_id)
    with sm.connection() as conn:
        _session(conn, sid, session_id, actor)
        rows = conn.execute(
            "SELECT role, content, retrieval_query, citations, created_at FROM chat_messages "
            "WHERE session_id = %s ORDER BY id",
            (sid,),
        ).fetchall()
    return [ChatMessage(*row) for row in rows]


def rewrite_followup(handle: Any, history: list[ChatMessage], question: str) -> str:
    """The search query for ``question`` given the session's history."""
    users = [m for m in history if m.role == "user"]
    if not users:
        return question
    if handle.provider != "extractive":
        recent = [(m.role, m.content) for m in history[-HISTORY_TURNS:]]
        return rewrite_question(handle, recent, question)[:MAX_REWRITE_CHARS] or question
    lowered = question.lower().strip()
    refers_back = (
        len(question.split()) <= 5
        or _REFERS_BACK.search(question) is not None
        or lowered.startswith(_CONTINUES)
    )
    if not refers_back:
        return question
    previous = users[-1].retrieval_query or users[-1].content
    return f"{previous} {question}"[-MAX_REWRITE_CHARS:]


def chat_turn(
    sm: Any,
    session_id: str,
    question: str,
    *,
    k: int = 5,
    actor: Actor | None = None,
    progress: Callable[[str], None] | None = None,
    on_text: OnText | None = None,
    where: DocumentFilter | None = None,
) -> Answer:
    """Answer ``question`` in a session: rewrite with the history, ask, store both turns.

    ``where`` (a metadata filter) applies to this turn only: a session does not keep
    filters, so each turn may narrow or widen them (the CLI's ``chat`` passes its
    ``--collection``/``--tag``/``--author``/``--year``/``--id`` with every turn).

    ``progress`` and ``on_text`` are :func:`ask`'s: the stages, and the model's raw text
    as it streams (remote LLMs only). The rewrite of a follow-up is never streamed, and
    what is stored is the checked answer, as without them.
    """
    question = clean_query(question)
    sid = _session_uuid(session_id)
    with sm.connection() as conn:
        domain = _session(conn, sid, session_id, actor).domain
    history = chat_history(sm, session_id, actor=actor)
    query = rewrite_followup(sm.llm(), history, question)
    answer = ask(
        sm,
        domain,
        question,
        k=k,
        retrieval_query=query,
        actor=actor,
        progress=progress,
        on_text=on_text,
        where=where,
    )
    citations = [
        {
            "number": c.number,
            "source": c.source_uri,
            "title": c.title,
            "page": c.page,
            "quote": c.quote,
        }
        for c in answer.citations
    ]
    _store_turn(sm, sid, session_id, question, query, answer.text, citations)
    return answer


def _store_turn(
    sm: Any,
    sid: uuid.UUID,
    session_id: str,
    question: str,
    query: str,
    text: str,
    citations: list[dict[str, Any]],
) -> None:
    """Both messages in one transaction, the session locked: a session deleted while its
    answer was being made is not found (not a foreign-key error), and the first question
    becomes the title of a session opened without one."""
    with sm.connection() as conn, conn.transaction():
        if (
            conn.execute("SELECT 1 FROM chat_sessions WHERE id = %s FOR UPDATE", (sid,)).fetchone()
            is None
        ):
            raise _not_found(session_id)
        conn.execute(
            "INSERT INTO chat_messages (session_id, role, content, retrieval_query) "
            "VALUES (%s, 'user', %s, %s)",
            (sid, question, query),
        )
        conn.execute(
            "INSERT INTO chat_messages (session_id, role, content, citations) "
            "VALUES (%s, 'assistant', %s, %s)",
            (sid, text, Jsonb(citations)),
        )
        conn.execute(
            "UPDATE chat_sessions SET updated_at = now(), "
            "title = coalesce(title, left(%s, 100)) WHERE id = %s",
            (_one_line(question), sid),
        )
