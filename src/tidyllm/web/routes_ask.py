"""Ask and chat pages: an answer with numbered citations, each opening its passage.

The handlers make the library calls the API's ask and chat routes make
(:func:`~tidyllm.answering.ask`, :mod:`tidyllm.answering.chat`), with the logged-in user
as the actor, so a domain not granted is the same 404 and another user's chat session
does not exist. The page needs more than the API's JSON answer gives: the cited chunk's
text (to show the passage with the quoted words in ``<mark>``) and the document's id (to
link its original at the cited page), so the answer is rendered here from the library's
:class:`~tidyllm.answering.Answer` (its ``sources``), every text autoescaped.

The ask form's and the chat form's "Filter documents" fields (:mod:`tidyllm.web.filters`:
collection, tags, author, years) are the API's metadata filter, passed to ``ask`` or
``chat_turn`` as ``where``, by the plain post, htmx and the stream alike. For a chat it is
checked in the chat's domain and applies to that one turn (a session keeps no filter); the
form keeps the fields for the next turn (without script the redirect after a turn carries
them in the query). A bad value is a 400 with the library's message before any turn is
answered or stored (before the stream starts).

Streaming: ``POST /domains/{name}/ask/stream`` and ``POST /chats/{id}/messages/stream``
answer with server-sent events through the API's :func:`~tidyllm.server.sse.event_stream`:
``progress`` (retrieving, answering), ``delta`` (with a remote LLM, each piece of the
model's draft as it is written, its citations not yet checked), then ``html`` (the checked
answer rendered here; for a chat turn also the title and sidebar in ``replace``), or
``error``. ``static/ask.js`` reads them with ``fetch`` (EventSource cannot POST) and shows
the draft as text; without script the forms post to ``/domains/{name}/ask`` and
``/chats/{id}/messages`` and get the whole page (or htmx's turn fragment) back.

Originals open inline: the API's download is always ``attachment``, on which a browser
ignores ``#page=N``. ``/domains/{name}/documents/{id}/view`` streams the same original
(the same library call, so the same grant check) ``inline`` only for PDF and plain text,
and as ``text/plain`` for the latter; every other type is the API's attachment. The API's
reasoning (:mod:`tidyllm.server.routes_documents`) holds: HTML, XML, SVG and scripts are
already ``application/octet-stream`` (:func:`tidyllm.knowledge.documents.open_original`),
never shown as a page from this origin, and the security headers (``nosniff``, the CSP)
apply to this response too. A PDF's own scripts run, if at all, inside the browser's
PDF viewer (Chromium's and Firefox's are sandboxed from the page's origin).
"""

from __future__ import annotations

import re
import urllib.parse
import uuid
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse

from tidyllm.access import Actor
from tidyllm.answering import Answer, ask
from tidyllm.answering.chat import (
    MAX_TITLE_CHARS,
    ChatMessage,
    chat_history,
    chat_turn,
    delete_chat,
    get_chat,
    list_chats,
    new_chat,
    rename_chat,
)
from tidyllm.ids import MAX_ID
from tidyllm.knowledge.catalog import DocumentFilter
from tidyllm.knowledge.documents import open_original, show_document
from tidyllm.knowledge.domains import get_domain, require_documents
from tidyllm.server.routes_documents import content_disposition
from tidyllm.server.sse import Emit, event_stream
from tidyllm.web.filters import (
    FilterFields,
    collection_names,
    filter_form,
    filter_of,
    filter_query,
)
from tidyllm.web.pages import PageError, ViewerDep, call, is_htmx, render, templates
from tidyllm.web.routes_documents import DomainName, role_in

router = APIRouter(include_in_schema=False)

MAX_QUESTION_CHARS = 10_000
DocumentId = Annotated[int, Path(ge=1, le=MAX_ID)]
ChatId = Annotated[uuid.UUID, Path()]
Question = Annotated[str, Form(min_length=1, max_length=MAX_QUESTION_CHARS)]
Filters = Annotated[FilterFields, Depends(filter_form)]
QueryFilters = Annotated[FilterFields, Depends(filter_query)]
_MARKER = re.compile(r"\[(\d{1,4}(?:\s*,\s*\d{1,4})*)\]")
#: Types an original may be shown as in the browser (the rest download, as from the API).
INLINE_TYPES = {"application/pdf": "application/pdf", "text/plain": "text/plain; charset=utf-8"}
STAGES = {"retrieving": "Searching the documents…", "answering": "Writing the answer…"}


@dataclass(frozen=True)
class Cited:
    """One citation as the page shows it: the passage split around the quoted words."""

    number: int
    title: str
    page: int | None
    quote: str | None
    before: str
    marked: str
    after: str
    document_id: int | None
    pdf: bool


@dataclass(frozen=True)
class Shown:
    """An answer as the page shows it: text pieces (``str`` or a list of citation
    numbers), the citations, the count of dropped ones, and what was searched."""

    key: str
    question: str
    found: bool
    pieces: list[Any]
    citations: list[Cited]
    dropped: int
    retrieval_query: str | None


def split_passage(text: str, quote: str | None) -> tuple[str, str, str]:
    """``text`` as (before, the quoted words, after); the quote is found ignoring case and
    whitespace runs. Not found (or no quote): (text, "", "")."""
    words = (quote or "").split()
    if not words:
        return text, "", ""
    pattern = re.compile(r"\s+".join(re.escape(w) for w in words), re.IGNORECASE)
    found = pattern.search(text)
    if found is None:
        return text, "", ""
    return text[: found.start()], found.group(0), text[found.end() :]


def pieces_of(text: str) -> list[Any]:
    """The answer's text with each ``[1, 3]`` marker as a list of numbers."""
    out: list[Any] = []
    cursor = 0
    for match in _MARKER.finditer(text):
        out.append(text[cursor : match.start()])
        out.append([int(n) for n in match.group(1).split(",")])
        cursor = match.end()
    out.append(text[cursor:])
    return [p for p in out if p != ""]


def documents_of(sm: Any, domain: str, uris: set[str], actor: Actor) -> dict[str, tuple[int, str]]:
    """``source_uri -> (document id, mime)`` for the domain's documents among ``uris`` that
    have an original to open (one indexed directly, not through a drop zone, has none)."""
    if not uris:
        return {}
    with sm.connection() as conn:
        dom = get_domain(conn, domain, actor=actor)
        rows = conn.execute(
            "SELECT source_uri, id, coalesce(mime, '') FROM documents "
            "WHERE domain_id = %s AND source_uri = ANY(%s)",
            (dom.id, list(uris)),
        ).fetchall()
    out = {}
    for uri, doc_id, mime in rows:
        if show_document(sm, domain, doc_id, actor=actor).file_id is not None:
            out[uri] = (doc_id, mime)
    return out


def shown_answer(
    sm: Any, domain: str, answer: Answer, actor: Actor, key: str, query: str | None = None
) -> Shown:
    """What the page shows of a library answer: each valid citation with its passage."""
    by_chunk = {s.hit.chunk_id: s.hit for s in answer.sources}
    docs = documents_of(sm, domain, {c.source_uri for c in answer.citations if c.source_uri}, actor)
    cited = []
    for c in answer.citations:
        hit = by_chunk.get(c.chunk_id) if c.chunk_id is not None else None
        text = hit.text if hit is not None else (c.quote or "")
        doc_id, mime = docs.get(c.source_uri or "", (None, ""))
        cited.append(
            Cited(
                c.number,
                c.title or c.source_uri or "?",
                c.page,
                c.quote,
                *split_passage(text, c.quote),
                doc_id,
                mime == "application/pdf",
            )
        )
    return Shown(
        key,
        answer.question,
        answer.found,
        pieces_of(answer.text) if answer.found else [answer.text],
        cited,
        len(answer.dropped),
        query,
    )


def shown_history(sm: Any, domain: str, messages: list[ChatMessage], actor: Actor) -> list[Shown]:
    """A session's stored turns: each question with its answer. A stored citation keeps
    its quote, not its chunk, so its passage is the quoted words."""
    uris = {c.get("source") for m in messages for c in m.citations if c.get("source")}
    docs = documents_of(sm, domain, uris, actor)  # type: ignore[arg-type]
    out = []
    question: ChatMessage | None = None
    for i, m in enumerate(messages):
        if m.role == "user":
            question = m
            continue
        cited = []
        for c in m.citations:
            doc_id, mime = docs.get(c.get("source") or "", (None, ""))
            quote = c.get("quote")
            cited.append(
                Cited(
                    c["number"],
                    c.get("title") or c.get("source") or "?",
                    c.get("page"),
                    quote,
                    "",
                    quote or "",
                    "",
                    doc_id,
                    mime == "application/pdf",
                )
            )
        found = bool(m.citations)
        out.append(
            Shown(
                f"m{i}",
                question.content if question else "",
                found,
                pieces_of(m.content) if found else [m.content],
                cited,
                0,
                question.retrieval_query if question else None,
            )
        )
        question = None
    return out


# ---- ask


async def _ask_page(
    request: Request,
    user: Any,
    domain: str,
    status: int = 200,
    fields: FilterFields | None = None,
    **extra: Any,
) -> HTMLResponse:
    """The ask page; ``fields`` are the filter as the user set it (shown again)."""
    sm = request.app.state.sm
    collections = await call(request, collection_names, sm, domain, user.actor)
    return render(
        request,
        "ask.html",
        status,
        user=user,
        domain=domain,
        max_chars=MAX_QUESTION_CHARS,
        collections=collections,
        filters=fields or FilterFields(),
        **{"question": "", "answer": None, "error": None, **extra},
    )


@router.get("/domains/{name}/ask")
async def ask_page(request: Request, name: DomainName, user: ViewerDep) -> HTMLResponse:
    await call(request, role_in, request.app.state.sm, name, user.actor)
    return await _ask_page(request, user, name)


def streamed(emit: Emit | None) -> dict[str, Any]:
    """``progress`` and ``on_text`` for a library call whose stream ``emit`` writes: each
    stage with its label, each piece of the model's draft as a ``delta``."""
    if emit is None:
        return {}
    return {
        "progress": lambda stage: emit(
            "progress", {"stage": stage, "label": STAGES.get(stage, stage)}
        ),
        "on_text": lambda text: emit("delta", {"text": text}),
    }


def answer_for(
    sm: Any,
    name: str,
    question: str,
    actor: Actor,
    emit: Emit | None = None,
    where: DocumentFilter | None = None,
) -> Shown:
    """The answer as the page shows it; ``where`` retrieves only from matching documents."""
    answer = ask(sm, name, question, actor=actor, where=where, **streamed(emit))
    return shown_answer(sm, name, answer, actor, "a")


@router.post("/domains/{name}/ask")
async def ask_post(
    request: Request, name: DomainName, user: ViewerDep, question: Question, filters: Filters
) -> HTMLResponse:
    """Without script: the whole page with the answer (a bad filter: the page again with
    the library's message, 400, everything the user typed still filled in)."""
    sm = request.app.state.sm
    try:
        where = await filter_of(request, name, filters, user.actor)
    except PageError as refused:
        if refused.status != 400:
            raise
        return await _ask_page(request, user, name, 400, filters, question=question, error=refused)
    shown = await call(request, answer_for, sm, name, question, user.actor, None, where)
    return await _ask_page(request, user, name, fields=filters, question=question, answer=shown)


@router.post("/domains/{name}/ask/stream")
async def ask_stream(
    request: Request, name: DomainName, user: ViewerDep, question: Question, filters: Filters
) -> StreamingResponse:
    """``progress`` events, then ``html`` (the answer rendered here) or ``error``. A bad
    filter is refused (400, the error page ``ask.js`` reads) before the stream starts."""
    sm = request.app.state.sm
    await call(request, lambda: require_documents(sm, name, actor=user.actor))
    where = await filter_of(request, name, filters, user.actor)

    def work(emit: Emit) -> None:
        shown = answer_for(sm, name, question, user.actor, emit, where)
        html = templates.get_template("_answer.html").render(answer=shown, domain=name)
        emit("html", {"html": html})

    return event_stream(work, where=f"POST /domains/{name}/ask/stream")


@router.get("/domains/{name}/documents/{document_id}/view")
async def view_original(
    request: Request, name: DomainName, document_id: DocumentId, user: ViewerDep
) -> StreamingResponse:
    """The original, inline when it is a PDF or plain text (for ``#page=N``)."""
    sm = request.app.state.sm
    found = await call(request, open_original, sm, name, document_id, actor=user.actor)
    inline = INLINE_TYPES.get(found.content_type)
    disposition = content_disposition(found.filename)
    if inline:
        disposition = "inline" + disposition.removeprefix("attachment")
    headers = {
        "Content-Disposition": disposition,
        "Content-Length": str(found.size),
        "Cache-Control": "private, no-store",
    }
    return StreamingResponse(found.chunks, media_type=inline or found.content_type, headers=headers)


# ---- chat


def chat_view(sm: Any, domain: str | None, chat_id: str | None, actor: Actor) -> dict[str, Any]:
    """The chat page's data: the domain's sessions and, if one is open, its turns and the
    domain's collections (the filter's select)."""
    chat = get_chat(sm, chat_id, actor=actor) if chat_id else None
    name = chat.domain if chat else domain
    assert name is not None
    sessions = list_chats(sm, name, actor=actor)
    turns = shown_history(sm, name, chat_history(sm, chat.id, actor=actor), actor) if chat else []
    collections = collection_names(sm, name, actor) if chat else []
    return {
        "domain": name,
        "chat": chat,
        "sessions": sessions,
        "turns": turns,
        "collections": collections,
    }


def _chat_render(
    request: Request,
    user: Any,
    found: dict[str, Any],
    status: int = 200,
    fields: FilterFields | None = None,
    question: str = "",
    error: PageError | None = None,
) -> HTMLResponse:
    """The chat page; ``fields`` and ``question`` as the user typed them (shown again)."""
    return render(
        request,
        "chat.html",
        status,
        user=user,
        max_chars=MAX_QUESTION_CHARS,
        max_title=MAX_TITLE_CHARS,
        filters=fields or FilterFields(),
        question=question,
        error=error,
        **found,
    )


@router.get("/domains/{name}/chat")
async def chat_home(request: Request, name: DomainName, user: ViewerDep) -> HTMLResponse:
    found = await call(request, chat_view, request.app.state.sm, name, None, user.actor)
    return _chat_render(request, user, found)


@router.post("/domains/{name}/chats")
async def chat_new(request: Request, name: DomainName, user: ViewerDep) -> Response:
    chat = await call(request, new_chat, request.app.state.sm, name, actor=user.actor)
    return RedirectResponse(f"/chats/{chat.id}", 303)


@router.get("/chats/{chat_id}")
async def chat_page(
    request: Request, chat_id: ChatId, user: ViewerDep, filters: QueryFilters
) -> HTMLResponse:
    """The chat; the query's filter fields (``tag`` for tags, as the documents page) fill
    in the form's filter, as the redirect after a turn posted without script sets them."""
    sm = request.app.state.sm
    found = await call(request, chat_view, sm, None, str(chat_id), user.actor)
    return _chat_render(request, user, found, fields=filters)


def turn_for(
    sm: Any,
    chat_id: str,
    question: str,
    actor: Actor,
    emit: Emit | None = None,
    where: DocumentFilter | None = None,
) -> dict[str, Any]:
    """Answer a turn (``where``: from the matching documents only, this turn only); the
    turn as shown, the session (a first question names it) and the sidebar's sessions,
    which the page updates out of band."""
    answer = chat_turn(sm, chat_id, question, actor=actor, where=where, **streamed(emit))
    chat = get_chat(sm, chat_id, actor=actor)
    key = "t" + uuid.uuid4().hex[:8]
    return {
        "turn": shown_answer(sm, chat.domain, answer, actor, key, answer.retrieval_query),
        "chat": chat,
        "sessions": list_chats(sm, chat.domain, actor=actor),
        "domain": chat.domain,
    }


@router.post("/chats/{chat_id}/messages")
async def chat_post(
    request: Request, chat_id: ChatId, user: ViewerDep, question: Question, filters: Filters
) -> Response:
    """htmx: the new turn, appended to the conversation (the title and the sidebar out of
    band); without script: the page again, its filter fields kept (the redirect's query).

    A bad filter answers no turn: 400 with the library's message (htmx: the error
    fragment, shown in the notice area; without script: the page with the message and
    everything the user typed still filled in)."""
    sm = request.app.state.sm
    chat = await call(request, get_chat, sm, str(chat_id), actor=user.actor)
    try:
        where = await filter_of(request, chat.domain, filters, user.actor)
    except PageError as refused:
        if refused.status != 400 or is_htmx(request):
            raise
        found = await call(request, chat_view, sm, None, str(chat_id), user.actor)
        return _chat_render(request, user, found, 400, filters, question, refused)
    found = await call(request, turn_for, sm, str(chat_id), question, user.actor, None, where)
    if not is_htmx(request):
        query = urllib.parse.urlencode(filters.query())
        return RedirectResponse(f"/chats/{chat_id}" + (f"?{query}" if query else ""), 303)
    return render(request, "_turn_added.html", **found)


@router.post("/chats/{chat_id}/messages/stream")
async def chat_stream(
    request: Request, chat_id: ChatId, user: ViewerDep, question: Question, filters: Filters
) -> StreamingResponse:
    """``progress`` and ``delta`` events, then ``html``: the turn as ``_turn.html`` renders
    it, and in ``replace`` the title and the sidebar (elements with ids the page has); or
    ``error``. A bad filter is refused (400, the error page ``ask.js`` reads) before the
    stream starts."""
    sm = request.app.state.sm
    chat = await call(request, get_chat, sm, str(chat_id), actor=user.actor)
    await call(request, lambda: require_documents(sm, chat.domain, actor=user.actor))
    where = await filter_of(request, chat.domain, filters, user.actor)

    def work(emit: Emit) -> None:
        found = turn_for(sm, str(chat_id), question, user.actor, emit, where)
        html = templates.get_template("_turn.html").render(**found)
        replace = [
            templates.get_template(name).render(**found)
            for name in ("_chat_heading.html", "_sessions.html")
        ]
        emit("html", {"html": html, "replace": replace})

    return event_stream(work, where=f"POST /chats/{chat_id}/messages/stream")


@router.post("/chats/{chat_id}/rename")
async def chat_rename(
    request: Request,
    chat_id: ChatId,
    user: ViewerDep,
    title: Annotated[str, Form(max_length=MAX_TITLE_CHARS)] = "",
) -> Response:
    sm = request.app.state.sm
    await call(request, rename_chat, sm, str(chat_id), title or None, actor=user.actor)
    return RedirectResponse(f"/chats/{chat_id}", 303)


@router.post("/chats/{chat_id}/delete")
async def chat_delete(request: Request, chat_id: ChatId, user: ViewerDep) -> Response:
    sm = request.app.state.sm
    chat = await call(request, get_chat, sm, str(chat_id), actor=user.actor)
    await call(request, delete_chat, sm, str(chat_id), actor=user.actor)
    target = f"/domains/{chat.domain}/chat"
    if is_htmx(request):
        return Response(headers={"HX-Redirect": target})
    return RedirectResponse(target, 303)
