"""Chat sessions under ``/api/v1``: open, list, read, rename, continue and delete one.

A session belongs to the user who opened it and lives in one domain; the library finds
a session by its id, its owner and a grant on its domain in one query, so another
user's session, or one of a domain not granted, is the same 404 as an id that never
existed. A follow-up question is rewritten with the history before retrieval; the
rewritten query comes back with the answer, so what was searched is always visible.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response
from starlette.concurrency import run_in_threadpool

from tidyllm.answering.chat import (
    MAX_LISTED,
    ChatMessage,
    ChatSession,
    chat_history,
    chat_turn,
    delete_chat,
    get_chat,
    list_chats,
    new_chat,
    rename_chat,
)
from tidyllm.knowledge.domains import require_documents
from tidyllm.server.auth import ActorDep, SessionDep
from tidyllm.server.errors import error_responses
from tidyllm.server.models import (
    ChatCreate,
    ChatMessageOut,
    ChatOut,
    ChatTurnOut,
    ChatTurnRequest,
    CitationOut,
)
from tidyllm.server.routes_knowledge import (
    STREAMED,
    answer_out,
    emit_answer,
    require_collection,
    streamed,
)
from tidyllm.server.sse import Emit, event_stream

ERRORS = error_responses(
    (400, "Invalid request"),
    (401, "No valid token"),
    (403, "Role too low, or a cookie request without X-CSRF-Token"),
    (404, "No such domain or chat session (or not yours)"),
    (409, "The domain holds no documents yet"),
    (422, "Invalid request body or id"),
)
router = APIRouter(prefix="/api/v1", tags=["chat"], responses=ERRORS)

ChatId = Annotated[uuid.UUID, Path(description="A chat session id (a UUID)")]


def _chat_out(chat: ChatSession) -> ChatOut:
    return ChatOut(
        id=chat.id,
        domain=chat.domain,
        title=chat.title,
        created_at=chat.created_at,
        updated_at=chat.updated_at,
        messages=chat.messages,
    )


def _stored_citation(c: dict[str, Any]) -> CitationOut:
    """A citation as :func:`chat_turn` stored it (``source``; ``title`` only since 0009)."""
    return CitationOut(
        number=c["number"],
        source_uri=c.get("source"),
        title=c.get("title"),
        page=c.get("page"),
        quote=c.get("quote"),
    )


def _message_out(m: ChatMessage) -> ChatMessageOut:
    return ChatMessageOut(
        role=m.role,  # type: ignore[arg-type]  # the table's CHECK allows only these two
        content=m.content,
        retrieval_query=m.retrieval_query,
        citations=[_stored_citation(c) for c in m.citations],
        created_at=m.created_at,
    )


@router.post("/domains/{name}/chats", status_code=201, summary="Open a chat session")
async def create_chat(
    name: str, sm: SessionDep, actor: ActorDep, body: ChatCreate | None = None
) -> ChatOut:
    title = body.title if body else None
    chat = await run_in_threadpool(lambda: new_chat(sm, name, title=title, actor=actor))
    return _chat_out(chat)


@router.get("/domains/{name}/chats", summary="Your chat sessions in a domain, newest first")
async def chats(
    name: str,
    sm: SessionDep,
    actor: ActorDep,
    limit: Annotated[int, Query(ge=1, le=MAX_LISTED)] = 50,
) -> list[ChatOut]:
    rows = await run_in_threadpool(lambda: list_chats(sm, name, limit=limit, actor=actor))
    return [_chat_out(c) for c in rows]


@router.get("/chats/{chat_id}", summary="One of your chat sessions")
async def chat(chat_id: ChatId, sm: SessionDep, actor: ActorDep) -> ChatOut:
    return _chat_out(await run_in_threadpool(lambda: get_chat(sm, str(chat_id), actor=actor)))


@router.patch("/chats/{chat_id}", summary="Rename one of your chat sessions")
async def rename(chat_id: ChatId, body: ChatCreate, sm: SessionDep, actor: ActorDep) -> ChatOut:
    chat = await run_in_threadpool(lambda: rename_chat(sm, str(chat_id), body.title, actor=actor))
    return _chat_out(chat)


@router.delete("/chats/{chat_id}", status_code=204, summary="Delete a chat session")
async def remove_chat(chat_id: ChatId, sm: SessionDep, actor: ActorDep) -> Response:
    await run_in_threadpool(lambda: delete_chat(sm, str(chat_id), actor=actor))
    return Response(status_code=204)


@router.get("/chats/{chat_id}/messages", summary="A session's messages, oldest first")
async def messages(chat_id: ChatId, sm: SessionDep, actor: ActorDep) -> list[ChatMessageOut]:
    rows = await run_in_threadpool(lambda: chat_history(sm, str(chat_id), actor=actor))
    return [_message_out(m) for m in rows]


CHAT_STREAM_DOC = (
    "With stream=true: server-sent events as ask's: `progress` {stage} (retrieving, "
    "answering), `delta` {text} (zero or more: the model's draft, citations not yet checked; "
    "only with a remote LLM), `answer` {text} (the checked answer, as stored), `citations` "
    "{citations, dropped}, `done` {found, provider, model, session_id, retrieval_query}; a "
    "failure after the stream started is one `error` event in the error shape."
)


def _turn(sm: Any, chat_id: str, body: ChatTurnRequest, actor: Any, emit: Emit | None = None):
    return chat_turn(
        sm, chat_id, body.question, k=body.k, where=body.where(), actor=actor, **streamed(emit)
    )


def _stream_turn(sm: Any, chat_id: str, body: ChatTurnRequest, actor: Any, emit: Emit) -> None:
    answer = _turn(sm, chat_id, body, actor, emit)
    done = {"session_id": chat_id, "retrieval_query": answer.retrieval_query}
    emit_answer(emit, answer_out(answer), **done)


@router.post(
    "/chats/{chat_id}/messages",
    summary="Ask in a session: the answer, its citations and the query as searched",
    description=CHAT_STREAM_DOC,
    response_model=ChatTurnOut,
    responses=STREAMED,
)
async def post_message(
    chat_id: ChatId,
    body: ChatTurnRequest,
    sm: SessionDep,
    actor: ActorDep,
    stream: Annotated[bool, Query(description="Server-sent events instead of JSON")] = False,
) -> Response | ChatTurnOut:
    sid = str(chat_id)
    where = body.where()  # a bad filter is a 400 before any stream
    if not (stream or body.stream):
        answer = await run_in_threadpool(_turn, sm, sid, body, actor)
        return ChatTurnOut(
            **answer_out(answer).model_dump(),
            session_id=sid,
            retrieval_query=answer.retrieval_query,
        )

    def check() -> None:  # the session (404) and its domain's documents (409), before the stream
        domain = get_chat(sm, sid, actor=actor).domain
        require_documents(sm, domain, actor=actor)
        require_collection(sm, domain, where, actor)

    await run_in_threadpool(check)
    return event_stream(
        lambda emit: _stream_turn(sm, sid, body, actor, emit), where="POST chat message"
    )
