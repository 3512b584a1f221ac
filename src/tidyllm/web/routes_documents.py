"""The domains page and a domain's documents page, with delete and re-index for editors.

Each handler makes the library calls the API's routes make, with the logged-in user as
the actor: :func:`~tidyllm.knowledge.domains.list_domains` returns only the domains the
user was granted (the grant check is in its query), and
:func:`~tidyllm.knowledge.documents.list_documents` refuses a domain not granted with the
same 404 as a missing one. Which buttons a page shows follows the user's role in the
domain (:func:`~tidyllm.access.grants.domain_role`); the library checks it again on use.

Each row shows the document's catalog metadata (authors, year, tags: the merged metadata
of :mod:`tidyllm.knowledge.catalog`), read for the page's documents within the domain
just checked. The page's "filter by paper metadata" form (:mod:`tidyllm.web.filters`) is
the API's catalog filter: with a filter the rows are
:func:`~tidyllm.knowledge.catalog.list_catalog`'s (the filter is in its query, newest
first, its own cursor), without one :func:`list_documents`'s (sortable, title search).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse

from tidyllm.access import Actor
from tidyllm.access.grants import domain_role
from tidyllm.access.roles import Role, at_least
from tidyllm.errors import DocumentNotFound
from tidyllm.ids import MAX_ID
from tidyllm.knowledge.catalog import DocumentFilter, catalog_entries, list_catalog
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
from tidyllm.web.filters import FilterFields, collection_names, filter_of, filter_query
from tidyllm.web.pages import PageError, ViewerDep, call, render

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 25
SHOWN_AUTHORS = 3  # a row names the first few authors, then "et al."
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
class Paper:
    """What a documents row shows of the catalog: the merged metadata's authors, year, tags."""

    authors: tuple[str, ...] = ()
    year: int | None = None
    tags: tuple[str, ...] = ()

    @property
    def byline(self) -> str:
        """The first :data:`SHOWN_AUTHORS` authors, "et al." for the rest."""
        shown = ", ".join(self.authors[:SHOWN_AUTHORS])
        return shown + (" et al." if len(self.authors) > SHOWN_AUTHORS else "")


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


def papers_of(sm: Any, domain: str, ids: list[int], actor: Actor) -> dict[int, Paper]:
    """The catalog metadata of ``domain``'s documents among ``ids`` (the library's query:
    a domain not granted is its 404, an id of another domain is left out)."""
    entries = catalog_entries(sm, domain, ids, actor=actor)
    return {e.id: Paper(e.metadata.authors, e.metadata.year, e.metadata.tags) for e in entries}


def filtered(
    sm: Any, domain: str, where: DocumentFilter, actor: Actor, limit: int, cursor: str | None
) -> tuple[list[DocumentInfo], dict[int, Paper], str | None]:
    """A page of the documents the filter matches (the library's catalog query), each
    with its row and catalog metadata, and the next page's cursor."""
    page = list_catalog(sm, domain, where=where, limit=limit, cursor=cursor, actor=actor)
    documents, papers = [], {}
    for entry in page.documents:
        try:
            documents.append(show_document(sm, domain, entry.id, actor=actor))
        except DocumentNotFound:
            continue  # deleted since the catalog page was read
        m = entry.metadata
        papers[entry.id] = Paper(m.authors, m.year, m.tags)
    return documents, papers, page.next_cursor


def unfiltered(
    sm: Any, domain: str, actor: Actor, **options: Any
) -> tuple[list[DocumentInfo], dict[int, Paper], str | None]:
    """A page of :func:`list_documents` (``options``: its paging, title and order), each
    document with its catalog metadata, and the next page's cursor."""
    page = list_documents(sm, domain, actor=actor, **options)
    papers = papers_of(sm, domain, [d.id for d in page.documents], actor)
    return page.documents, papers, page.next_cursor


@router.get("/domains/{name}/documents")
async def documents_page(
    request: Request,
    name: DomainName,
    user: ViewerDep,
    filters: Annotated[FilterFields, Depends(filter_query)],
    title: Annotated[str, Query(max_length=MAX_FILTER_CHARS)] = "",
    cursor: Annotated[str | None, Query(max_length=MAX_CURSOR)] = None,
    sort: Annotated[str, Query(max_length=20)] = "",
    order: Annotated[str, Query(pattern="^(asc|desc)$")] = "asc",
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = PAGE_SIZE,
) -> HTMLResponse:
    """The documents, or with a metadata filter the ones it matches (a bad filter: the
    page with the library's message, 400, the fields as typed)."""
    sm = request.app.state.sm
    role = await call(request, role_in, sm, name, user.actor)
    sort = sort if sort in COLUMNS and COLUMNS[sort][1] else ""
    page: dict[str, Any] = {
        "user": user,
        "domain": name,
        "can_edit": at_least(role, "editor"),
        "title": title,
        "cursor": cursor,
        "limit": limit if limit != PAGE_SIZE else None,
        "order": order,
        "columns": COLUMNS,
        "filters": filters,
        "collections": await call(request, collection_names, sm, name, user.actor),
        "error": None,
        "filtered": False,
    }
    try:
        if filters.given and title:
            raise PageError(
                400,
                "invalid_request",
                "the title search and the metadata filter are used one at a time",
                "clear one of them",
            )
        where = await filter_of(request, name, filters, user.actor)
    except PageError as refused:
        if refused.status != 400:
            raise
        page |= {"documents": [], "papers": {}, "next_cursor": None, "sort": "", "error": refused}
        return render(request, "documents.html", 400, **page)
    if where is not None:
        found = await call(request, filtered, sm, name, where, user.actor, limit, cursor or None)
        sort = ""  # the catalog lists newest first
    else:
        found = await call(
            request,
            unfiltered,
            sm,
            name,
            user.actor,
            limit=limit,
            cursor=cursor or None,
            title=title or None,
            order=(("-" if order == "desc" else "") + sort) if sort else None,
        )
    documents, papers, next_cursor = found
    page |= {"documents": documents, "papers": papers, "next_cursor": next_cursor, "sort": sort}
    page["filtered"] = where is not None
    return render(request, "documents.html", **page)


async def _row(request: Request, user: Any, domain: str, doc: DocumentInfo, note: str) -> Any:
    papers = await call(request, papers_of, request.app.state.sm, domain, [doc.id], user.actor)
    return render(
        request,
        "_document_row.html",
        user=user,
        domain=domain,
        doc=doc,
        paper=papers.get(doc.id),
        can_edit=True,
        note=note,
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
    return await _row(request, user, name, doc, "queued to be indexed again")
