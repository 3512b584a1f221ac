"""Chat sessions: history in PostgreSQL, follow-up questions rewritten before retrieval.

A follow-up such as "and who leads it now?" retrieves nothing useful on its
own. With a remote LLM the history and the question are rewritten into one
standalone query by the model. The offline default has no model to ask, so it
uses a transparent rule: a question that refers back (a pronoun such as
"it"/"they"/"that", "what about ...", or five words or fewer) is searched
together with the previous turn's search query. The rewritten query is
stored with the message, so what was searched is always visible.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg import sql
from psycopg.types.json import Jsonb

from tidyllm.access.actor import Actor
from tidyllm.access.grants import VISIBLE, visibility
from tidyllm.answering.ask import Answer, ask
from tidyllm.answering.generators import rewrite_question
from tidyllm.errors import KnowledgeError
from tidyllm.knowledge.domains import get_domain
from tidyllm.knowledge.search import clean_query

HISTORY_TURNS = 6
MAX_REWRITE_CHARS = 2000
_REFERS_BACK = re.compile(
    r"\b(it|its|they|them|their|theirs|this|that|these|those|he|him|his|she|her|there|"
    r"same|such|former|latter|above)\b",
    re.IGNORECASE,
)
_CONTINUES = ("and ", "what about", "how about", "also ", "why", "then ")
#: A session's domain, if the actor may see it: a session of a domain not granted does
#: not exist for them (the same error as a wrong id).
_SESSION_DOMAIN = sql.SQL(
    "SELECT d.name FROM chat_sessions s JOIN domains d ON d.id = s.domain_id "
    "WHERE s.id = %(sid)s AND {visible}"
).format(visible=VISIBLE)


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


def _session_domain(conn: Any, sid: uuid.UUID, session_id: str, actor: Actor | None) -> str:
    row = conn.execute(_SESSION_DOMAIN, {"sid": sid, **visibility(actor)}).fetchone()
    if row is None:
        raise KnowledgeError(f"chat session {session_id} does not exist")
    return row[0]


def start_chat(
    sm: Any, domain: str, *, title: str | None = None, actor: Actor | None = None
) -> str:
    """Open a new chat session on ``domain``; returns its id."""
    with sm.connection() as conn:
        dom = get_domain(conn, domain, actor=actor)
        row = conn.execute(
            "INSERT INTO chat_sessions (domain_id, title) VALUES (%s, %s) RETURNING id",
            (dom.id, title),
        ).fetchone()
    return str(row[0])


def chat_history(sm: Any, session_id: str, *, actor: Actor | None = None) -> list[ChatMessage]:
    """Every message of a session, oldest first."""
    sid = _session_uuid(session_id)
    with sm.connection() as conn:
        _session_domain(conn, sid, session_id, actor)
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
    sm: Any, session_id: str, question: str, *, k: int = 5, actor: Actor | None = None
) -> Answer:
    """Answer ``question`` in a session: rewrite with the history, ask, store both turns."""
    question = clean_query(question)
    sid = _session_uuid(session_id)
    with sm.connection() as conn:
        domain = _session_domain(conn, sid, session_id, actor)
    history = chat_history(sm, session_id, actor=actor)
    query = rewrite_followup(sm.llm(), history, question)
    answer = ask(sm, domain, question, k=k, retrieval_query=query, actor=actor)
    citations = [
        {"number": c.number, "source": c.source_uri, "page": c.page, "quote": c.quote}
        for c in answer.citations
    ]
    with sm.connection() as conn, conn.transaction():
        conn.execute(
            "INSERT INTO chat_messages (session_id, role, content, retrieval_query) "
            "VALUES (%s, 'user', %s, %s)",
            (sid, question, query),
        )
        conn.execute(
            "INSERT INTO chat_messages (session_id, role, content, citations) "
            "VALUES (%s, 'assistant', %s, %s)",
            (sid, answer.text, Jsonb(citations)),
        )
        conn.execute("UPDATE chat_sessions SET updated_at = now() WHERE id = %s", (sid,))
    return answer
