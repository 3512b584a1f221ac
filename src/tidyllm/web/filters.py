"""The "filter documents" fields of the ask and documents pages, read as the library's filter.

The fields are the API's and the CLI's metadata filter (``collection``, ``tags``,
``author``, ``years``; see ``docs/papers.md``): they become one
:class:`~tidyllm.knowledge.catalog.DocumentFilter` through
:func:`~tidyllm.knowledge.catalog.document_filter`, which checks every value (control
characters, length, a year range that runs backwards) and says what is wrong. A blank
field is no condition, so an untouched form filters nothing.

The collection is looked up in the page's domain, after that domain's grant check
(:func:`~tidyllm.knowledge.collections.collection_id`): a collection of another domain is
"no collection" here, whoever was granted it. A bad value is refused with 400 and the
library's message, also for an unknown collection (the API's 404 names a missing resource;
here the page exists and one of its form values is wrong), before any answer or stream
starts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Form, Query, Request
from starlette.concurrency import run_in_threadpool

from tidyllm.access import Actor
from tidyllm.knowledge.catalog import DocumentFilter, document_filter
from tidyllm.knowledge.collections import CatalogError, collection_id, list_collections
from tidyllm.knowledge.domains import get_domain
from tidyllm.web.pages import PageError


@dataclass(frozen=True)
class FilterFields:
    """The form's fields as typed (shown again as they were, also after an error)."""

    collection: str = ""
    tags: str = ""
    author: str = ""
    years: str = ""

    @property
    def given(self) -> bool:
        """Whether any field holds more than blanks (the page opens its filter section)."""
        return any(v.strip() for v in (self.collection, self.tags, self.author, self.years))

    def query(self) -> dict[str, str]:
        """The non-blank fields as the documents page's query (its tags field is ``tag``),
        for a link that keeps the filter (the next page)."""
        fields = {
            "collection": self.collection,
            "tag": self.tags,
            "author": self.author,
            "years": self.years,
        }
        return {k: v for k, v in fields.items() if v.strip()}


def _blank_is_none(value: str) -> str | None:
    return value if value.strip() else None


def tag_list(text: str) -> list[str]:
    """``"risk, survey"`` -> ``["risk", "survey"]`` (blank pieces dropped)."""
    return [t for t in text.split(",") if t.strip()]


def checked_filter(
    sm: Any, domain: str, fields: FilterFields, actor: Actor
) -> DocumentFilter | None:
    """The library's filter for ``fields`` in ``domain`` (None: no condition given).

    Raises :class:`CatalogError` for a bad value or a collection ``domain`` does not hold,
    and the domain's own error (404) when the actor was not granted it.
    """
    where = document_filter(
        collection=_blank_is_none(fields.collection),
        tags=tag_list(fields.tags),
        author=_blank_is_none(fields.author),
        years=_blank_is_none(fields.years),
    )
    if where.empty:
        return None
    if where.collection is not None:
        with sm.connection() as conn:
            collection_id(conn, get_domain(conn, domain, actor=actor), where.collection, actor)
    return where


async def filter_of(
    request: Request, domain: str, fields: FilterFields, actor: Actor
) -> DocumentFilter | None:
    """:func:`checked_filter` in a worker thread; a bad value is a 400 :class:`PageError`
    with the library's message and hint (the domain's errors keep their status)."""
    try:
        return await run_in_threadpool(checked_filter, request.app.state.sm, domain, fields, actor)
    except CatalogError as exc:
        refused = PageError.of(exc, f"{request.method} {request.url.path}")
        refused.status = 400
        raise refused from exc


def collection_names(sm: Any, domain: str, actor: Actor) -> list[str]:
    """The collections of ``domain`` (a domain the actor was granted) for the select."""
    return [c.name for c in list_collections(sm, domain=domain, actor=actor)]


def filter_form(
    collection: Annotated[str, Form()] = "",
    tags: Annotated[str, Form()] = "",
    author: Annotated[str, Form()] = "",
    years: Annotated[str, Form()] = "",
) -> FilterFields:
    """The fields of a posted form (no length bound here: the library's check says it)."""
    return FilterFields(collection, tags, author, years)


def filter_query(
    collection: Annotated[str, Query()] = "",
    tag: Annotated[str, Query()] = "",
    author: Annotated[str, Query()] = "",
    years: Annotated[str, Query()] = "",
) -> FilterFields:
    """The fields of a GET form (the documents page's)."""
    return FilterFields(collection, tag, author, years)
