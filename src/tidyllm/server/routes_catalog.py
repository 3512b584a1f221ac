"""The paper repository under ``/api/v1``: metadata, tags, similar documents, collections.

Each handler calls the library (:mod:`tidyllm.knowledge.catalog`, ``collections``,
``similar``, ``bibtex``) with the acting user, in the thread pool. The grant check is in
the library's SQL: a domain, document or collection the user was not granted answers
exactly like a missing one (404); writes need the editor role there (403) and are audited
by the library in their transaction.

Documents are addressed as the documents routes address them,
``/domains/{name}/documents/{id}``: a document of another domain is the same 404 as an id
that does not exist. The catalog (``/domains/{name}/catalog``) is the bibliographic view
of a domain's documents, filtered by metadata; ``/domains/{name}/documents`` stays the
ingest view (state, chunks, zone, ordered by title or size).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Response
from starlette.concurrency import run_in_threadpool

from tidyllm.access import Actor
from tidyllm.access.roles import Role
from tidyllm.errors import DocumentNotFound
from tidyllm.ids import MAX_ID
from tidyllm.knowledge.bibtex import export_collection
from tidyllm.knowledge.catalog import (
    MAX_FILTER_CHARS,
    MAX_TAGS_FILTER,
    CatalogEntry,
    document_domain,
    document_filter,
    list_catalog,
    set_fields,
    show_entry,
    tag_document,
    untag_document,
)
from tidyllm.knowledge.collections import (
    NAME_PATTERN,
    Collection,
    Membership,
    add_to_collection,
    create_collection,
    delete_collection,
    list_collections,
    remove_from_collection,
    show_collection,
)
from tidyllm.knowledge.dedup import document_names
from tidyllm.knowledge.documents import MAX_CURSOR, MAX_PAGE
from tidyllm.knowledge.domains import get_domain
from tidyllm.knowledge.similar import MAX_K, collection_report, similar_documents
from tidyllm.server.auth import ActorDep, SessionDep
from tidyllm.server.errors import error_responses
from tidyllm.server.models import (
    CatalogEntryOut,
    CatalogPageOut,
    CollectionCreate,
    CollectionDetailOut,
    CollectionMemberOut,
    CollectionOut,
    CollectionReportOut,
    DocumentIds,
    DocumentMetadataOut,
    MembershipOut,
    MetadataPatch,
    PairOut,
    SimilarDocumentOut,
    SimilarOut,
    SourceNameOut,
    TagsRequest,
)
from tidyllm.server.routes_documents import content_disposition

ERRORS = error_responses(
    (400, "Invalid request (a bad filter, cursor, year range or field)"),
    (401, "No valid token"),
    (403, "Role too low, or a cookie request without X-CSRF-Token"),
    (404, "No such domain, document or collection (or not granted)"),
    (409, "Conflict (a collection of that name exists)"),
    (422, "Invalid parameter or body"),
)
router = APIRouter(prefix="/api/v1", tags=["paper repository"], responses=ERRORS)

DocumentId = Annotated[int, Path(ge=1, le=MAX_ID, description="A document id")]
CollectionPath = Annotated[
    str,
    Path(max_length=128, pattern=NAME_PATTERN.pattern, description="A collection's name"),
]
FORMATS = {
    "bibtex": ("application/x-bibtex; charset=utf-8", ".bib"),
    "csl-json": ("application/vnd.citationstyles.csl+json", ".json"),
}


# --- documents ------------------------------------------------------------------------------


def _entry_fields(entry: CatalogEntry) -> dict[str, Any]:
    """The entry's fields as the library's JSON has them (layers and names come apart)."""
    return {k: v for k, v in entry.as_json().items() if k not in ("layers", "names")}


def _in_domain(sm: Any, name: str, document_id: int, actor: Actor, need: Role = "viewer") -> None:
    """The path's domain as the actor may use it (404/403), holding the document (404)."""
    with sm.connection() as conn:
        dom = get_domain(conn, name, actor=actor, need=need)
        if document_domain(conn, document_id, actor=actor).id != dom.id:
            raise DocumentNotFound(f"no document {document_id} in domain {name!r}")


def _with_names(sm: Any, entry: CatalogEntry) -> DocumentMetadataOut:
    with sm.connection() as conn:  # the grant was checked by the call that read the entry
        names = document_names(conn, entry.id)
    return DocumentMetadataOut(
        **_entry_fields(entry),
        layers={k: dict(v) for k, v in entry.layers.items()},
        names=[
            SourceNameOut(source_uri=n.source_uri, reason=n.reason, content_hash=n.content_hash)
            for n in names
        ],
    )


def _document_call(
    sm: Any, name: str, document_id: int, actor: Actor, need: Role, call: Any
) -> DocumentMetadataOut:
    _in_domain(sm, name, document_id, actor, need)
    return _with_names(sm, call())


@router.get(
    "/domains/{name}/catalog",
    summary="The domain's documents with their metadata, newest first, filtered by metadata",
)
async def catalog(
    name: str,
    sm: SessionDep,
    actor: ActorDep,
    collection: Annotated[
        str | None, Query(max_length=128, description="Only documents in this collection")
    ] = None,
    tag: Annotated[
        list[str] | None,
        Query(max_length=MAX_TAGS_FILTER, description="Documents with this tag (repeatable)"),
    ] = None,
    author: Annotated[
        str | None,
        Query(max_length=MAX_FILTER_CHARS, description="An author's name contains this"),
    ] = None,
    year: Annotated[
        str | None, Query(max_length=40, description="2020..2024, 2020, 2020.. or ..2024")
    ] = None,
    identifier: Annotated[
        str | None,
        Query(
            alias="id",
            max_length=MAX_FILTER_CHARS,
            description="doi:..., arxiv:..., isbn:..., url:... or a bare value",
        ),
    ] = None,
    cursor: Annotated[str | None, Query(max_length=MAX_CURSOR, description="next_cursor")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
) -> CatalogPageOut:
    where = document_filter(
        collection=collection, tags=tag, author=author, years=year, identifier=identifier
    )
    page = await run_in_threadpool(
        lambda: list_catalog(
            sm,
            name,
            where=None if where.empty else where,
            limit=limit,
            cursor=cursor,
            actor=actor,
        )
    )
    return CatalogPageOut(
        domain=name,
        filter=where.describe(),
        documents=[CatalogEntryOut(**_entry_fields(e)) for e in page.documents],
        next_cursor=page.next_cursor,
    )


@router.get(
    "/domains/{name}/documents/{document_id}/metadata",
    summary="A document's metadata: fields, where each came from, every layer, its names",
)
async def metadata(
    name: str, document_id: DocumentId, sm: SessionDep, actor: ActorDep
) -> DocumentMetadataOut:
    return await run_in_threadpool(
        _document_call,
        sm,
        name,
        document_id,
        actor,
        "viewer",
        lambda: show_entry(sm, document_id, actor=actor),
    )


@router.patch(
    "/domains/{name}/documents/{document_id}/metadata",
    summary="Edit fields (editor): the edited layer, kept across re-ingests",
)
async def edit_metadata(
    name: str, document_id: DocumentId, body: MetadataPatch, sm: SessionDep, actor: ActorDep
) -> DocumentMetadataOut:
    given = body.model_dump(exclude_unset=True)
    assignments = {f"fields.{k}": v for k, v in given.pop("fields", {}).items()}
    assignments |= given
    return await run_in_threadpool(
        _document_call,
        sm,
        name,
        document_id,
        actor,
        "editor",
        lambda: set_fields(sm, document_id, assignments, actor=actor),
    )


@router.post(
    "/domains/{name}/documents/{document_id}/tags",
    summary="Add tags (editor); tags it has are kept once",
)
async def add_tags(
    name: str, document_id: DocumentId, body: TagsRequest, sm: SessionDep, actor: ActorDep
) -> DocumentMetadataOut:
    return await run_in_threadpool(
        _document_call,
        sm,
        name,
        document_id,
        actor,
        "editor",
        lambda: tag_document(sm, document_id, body.tags, actor=actor),
    )


@router.delete(
    "/domains/{name}/documents/{document_id}/tags",
    summary="Remove tags (editor), wherever they came from",
)
async def remove_tags(
    name: str, document_id: DocumentId, body: TagsRequest, sm: SessionDep, actor: ActorDep
) -> DocumentMetadataOut:
    return await run_in_threadpool(
        _document_call,
        sm,
        name,
        document_id,
        actor,
        "editor",
        lambda: untag_document(sm, document_id, body.tags, actor=actor),
    )


def _similar(sm: Any, name: str, document_id: int, k: int, actor: Actor) -> SimilarOut:
    _in_domain(sm, name, document_id, actor)
    found = similar_documents(sm, document_id, k, actor=actor)
    return SimilarOut(
        document_id=found.document_id,
        domain=found.domain,
        title=found.title,
        k=found.k,
        documents=[
            SimilarDocumentOut(
                document_id=d.document_id,
                title=d.title,
                source_uri=d.source_uri,
                similarity=d.similarity,
            )
            for d in found.documents
        ],
    )


@router.get(
    "/domains/{name}/documents/{document_id}/similar",
    summary="The k documents of the domain closest to this one (document vectors)",
)
async def similar(
    name: str,
    document_id: DocumentId,
    sm: SessionDep,
    actor: ActorDep,
    k: Annotated[int, Query(ge=1, le=MAX_K)] = 10,
) -> SimilarOut:
    return await run_in_threadpool(_similar, sm, name, document_id, k, actor)


# --- collections ----------------------------------------------------------------------------


def _collection_out(c: Collection) -> CollectionOut:
    return CollectionOut(
        id=c.id,
        domain=c.domain,
        name=c.name,
        description=c.description,
        documents=c.documents,
        created_at=c.created_at,
    )


def _membership_out(m: Membership) -> MembershipOut:
    return MembershipOut(
        collection=_collection_out(m.collection), changed=m.changed, unchanged=m.unchanged
    )


@router.get("/domains/{name}/collections", summary="The domain's collections, by name")
async def collections(name: str, sm: SessionDep, actor: ActorDep) -> list[CollectionOut]:
    rows = await run_in_threadpool(lambda: list_collections(sm, domain=name, actor=actor))
    return [_collection_out(c) for c in rows]


@router.post("/domains/{name}/collections", status_code=201, summary="Create a collection (editor)")
async def new_collection(
    name: str, body: CollectionCreate, sm: SessionDep, actor: ActorDep
) -> CollectionOut:
    made = await run_in_threadpool(
        lambda: create_collection(
            sm, body.name, domain=name, description=body.description, actor=actor
        )
    )
    return _collection_out(made)


@router.get(
    "/domains/{name}/collections/{collection}", summary="A collection and its first documents"
)
async def collection(
    name: str,
    collection: CollectionPath,
    sm: SessionDep,
    actor: ActorDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> CollectionDetailOut:
    found = await run_in_threadpool(
        lambda: show_collection(sm, collection, domain=name, limit=limit, actor=actor)
    )
    return CollectionDetailOut(
        collection=_collection_out(found.collection),
        documents=[CollectionMemberOut(id=i, title=t) for i, t in found.documents],
    )


@router.delete(
    "/domains/{name}/collections/{collection}",
    status_code=204,
    summary="Delete a collection (editor); its documents stay",
)
async def remove_collection(
    name: str, collection: CollectionPath, sm: SessionDep, actor: ActorDep
) -> Response:
    await run_in_threadpool(lambda: delete_collection(sm, collection, domain=name, actor=actor))
    return Response(status_code=204)


@router.post(
    "/domains/{name}/collections/{collection}/documents",
    summary="Put documents of the domain into the collection (editor); all or nothing",
)
async def add_documents(
    name: str, collection: CollectionPath, body: DocumentIds, sm: SessionDep, actor: ActorDep
) -> MembershipOut:
    done = await run_in_threadpool(
        lambda: add_to_collection(sm, collection, body.ids, domain=name, actor=actor)
    )
    return _membership_out(done)


@router.delete(
    "/domains/{name}/collections/{collection}/documents",
    summary="Take documents out of the collection (editor); they stay in the domain",
)
async def remove_documents(
    name: str, collection: CollectionPath, body: DocumentIds, sm: SessionDep, actor: ActorDep
) -> MembershipOut:
    done = await run_in_threadpool(
        lambda: remove_from_collection(sm, collection, body.ids, domain=name, actor=actor)
    )
    return _membership_out(done)


@router.get(
    "/domains/{name}/collections/{collection}/export",
    summary="The collection's citations as BibTeX or CSL-JSON (a download)",
    response_class=Response,
    responses={
        200: {
            "description": "The citations, as an attachment",
            "content": {
                "application/x-bibtex": {"schema": {"type": "string"}},
                "application/vnd.citationstyles.csl+json": {"schema": {"type": "string"}},
            },
        }
    },
)
async def export(
    name: str,
    collection: CollectionPath,
    sm: SessionDep,
    actor: ActorDep,
    format: Annotated[Literal["bibtex", "csl-json"], Query()] = "bibtex",
) -> Response:
    text = await run_in_threadpool(
        lambda: export_collection(sm, collection, format, domain=name, actor=actor)
    )
    media_type, suffix = FORMATS[format]
    headers = {
        "Content-Disposition": content_disposition(f"{collection}{suffix}"),
        "Cache-Control": "private, no-store",
    }
    return Response(text.encode(), media_type=media_type, headers=headers)


@router.get(
    "/domains/{name}/collections/{collection}/report",
    summary="Pairwise similarity of the collection's documents and its closest pairs",
    description="Also handed to the tracking outbox as an MLflow run (written to disk at "
    "once, sent in the background; `run_key`). `matrix=false` leaves the table out.",
)
async def report(
    name: str,
    collection: CollectionPath,
    sm: SessionDep,
    actor: ActorDep,
    matrix: Annotated[bool, Query(description="Include the pairwise table")] = True,
) -> CollectionReportOut:
    done = await run_in_threadpool(
        lambda: collection_report(sm, collection, domain=name, actor=actor)
    )
    pairs = done.pairs
    return CollectionReportOut(
        domain=done.domain,
        collection=done.collection,
        documents=[CollectionMemberOut(id=i, title=t) for i, t in done.documents],
        matrix=done.matrix if matrix else None,
        pairs=[PairOut(first=p.first, second=p.second, similarity=p.similarity) for p in pairs],
        without_text=done.without_text,
        truncated=done.truncated,
        run_key=done.run_key,
        text=done.text,
    )
