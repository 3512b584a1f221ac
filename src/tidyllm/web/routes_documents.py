"""The domains page and a domain's documents page, with delete and re-index for editors.

Each handler makes the library calls the API's routes make, with the logged-in user as
the actor: :func:`~tidyllm.knowledge.domains.list_domains` returns only the domains the
user was granted (the grant check is in its query), and
:func:`~tidyllm.knowledge.documents.list_documents` refuses a domain not granted with the
same 404 as a missing one. Which buttons a page shows follows the user's role in the
domain (:func:`~tidyllm.access.grants.domain_role`); the library checks it again on use.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse

from tidyllm.access import Actor
from tidyllm.access.grants import domain_role
from tidyllm.access.roles import Role, at_least
from tidyllm.ids import MAX_ID
from tidyllm.knowledge.documents import (
    MAX_CURSOR,
    MAX_FILTER_CHARS,
    MAX_PAGE,
    DocumentInfo,
    delete_document,
    list_documents,
    reindex_document,
    show_document,
)
from tidyllm.knowledge.domains import DomainStats, get_domain, list_domains
from tidyllm.web.pages import ViewerDep, call, render

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 25
DomainName = Annotated[str, Path(max_length=63)]
DocumentId = Annotated[int, Path(ge=1, le=MAX_ID)]

# column -> (label, whether the whole domain sorts by it: the library's ``order``); the
# order is the table's
COLUMNS: dict[str, tuple[str, bool]] = {
    "title": ("Title", True),
    "pages": ("Pages", True),
    "chunks": ("Chunks", True),
    "version": ("Version", False),
    "state": ("State", False),
    "indexed_at": ("Ingested at", True),
}


@dataclass(frozen=True)
class DomainRow:
    stats: DomainStats
    role: Role | None


def role_in(sm: Any, domain: str, actor: Actor) -> Role | None:
    """The actor's role in ``domain`` (the domain must be visible to them, else 404)."""
    with sm.connection() as conn:
        dom = get_domain(conn, domain, actor=actor)
        return domain_role(conn, actor, dom.id)


def domains_with_roles(sm: Any, actor: Actor) -> list[DomainRow]:
    """The domains the actor was granted, each with the actor's role there."""
    found = list_domains(sm, actor=actor)
    with sm.connection() as conn:
        return [DomainRow(s, domain_role(conn, actor, s.domain.id)) for s in found]


@router.get("/domains")
async def domains_page(request: Request, user: ViewerDep) -> HTMLResponse:
    rows = await call(request, domains_with_roles, request.app.state.sm, user.actor)
    return render(request, "domains.html", user=user, domains=rows)


@router.get("/domains/{name}/documents")
async def documents_page(
    request: Request,
    name: DomainName,
    user: ViewerDep,
    title: Annotated[str, Query(max_length=MAX_FILTER_CHARS)] = "",
    cursor: Annotated[str | None, Query(max_length=MAX_CURSOR)] = None,
    sort: Annotated[str, Query(max_length=20)] = "",
    order: Annotated[str, Query(pattern="^(asc|desc)$")] = "asc",
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = PAGE_SIZE,
) -> HTMLResponse:
    sm = request.app.state.sm
    role = await call(request, role_in, sm, name, user.actor)
    sort = sort if sort in COLUMNS and COLUMNS[sort][1] else ""
    page = await call(
        request,
        list_documents,
        sm,
        name,
        actor=user.actor,
        limit=limit,
        cursor=cursor or None,
        title=title or None,
        order=(("-" if order == "desc" else "") + sort) if sort else None,
    )
    documents = page.documents
    return render(
        request,
        "documents.html",
        user=user,
        domain=name,
        documents=documents,
        can_edit=at_least(role, "editor"),
        title=title,
        cursor=cursor,
        limit=limit if limit != PAGE_SIZE else None,
        next_cursor=page.next_cursor,
        sort=sort,
        order=order,
        columns=COLUMNS,
    )


def _row(request: Request, user: Any, domain: str, doc: DocumentInfo, note: str = "") -> Any:
    return render(
        request, "_document_row.html", user=user, domain=domain, doc=doc, can_edit=True, note=note
    )


@router.post("/domains/{name}/documents/{document_id}/delete")
async def delete(
    request: Request, name: DomainName, document_id: DocumentId, user: ViewerDep
) -> HTMLResponse:
    sm = request.app.state.sm
    doc = await call(request, delete_document, sm, name, document_id, actor=user.actor)
    return render(request, "_deleted_row.html", user=user, doc=doc)


@router.post("/domains/{name}/documents/{document_id}/reindex")
async def reindex(
    request: Request, name: DomainName, document_id: DocumentId, user: ViewerDep
) -> HTMLResponse:
    sm = request.app.state.sm
    await call(request, reindex_document, sm, name, document_id, actor=user.actor)
    doc: DocumentInfo = await call(request, show_document, sm, name, document_id, actor=user.actor)
    return _row(request, user, name, doc, note="queued to be indexed again")
