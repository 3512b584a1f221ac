"""The metadata filter options shared by ``docs list``, ``search``, ``ask``, ``chat`` and
``eval`` (``--collection``, ``--tag``, ``--author``, ``--year``, ``--id``).

Kept apart from the command modules, and importing nothing heavy at module level, so a
command's ``--help`` stays cheap (tests/cli/test_cli_startup.py).
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

CollectionOption = Annotated[
    str | None, typer.Option("--collection", "-c", help="Only documents in this collection.")
]
TagOption = Annotated[
    list[str] | None, typer.Option("--tag", "-t", help="Only documents with this tag (repeatable).")
]
AuthorOption = Annotated[
    str | None,
    typer.Option("--author", help="Only documents with an author containing this (any case)."),
]
YearOption = Annotated[
    str | None, typer.Option("--year", help="Year or range: 2021, 2020..2024, 2020.., ..2024.")
]
IdentifierOption = Annotated[
    str | None,
    typer.Option("--id", help="Identifier: doi:10.x/y, arxiv:2410.11842, isbn:..., url:..."),
]


def where(
    collection: str | None = None,
    tag: list[str] | None = None,
    author: str | None = None,
    year: str | None = None,
    identifier: str | None = None,
) -> Any:
    """The options as a :class:`~tidyllm.knowledge.catalog.DocumentFilter` (None when none
    is given)."""
    if collection is None and not tag and author is None and year is None and identifier is None:
        return None
    from tidyllm.knowledge.catalog import document_filter

    return document_filter(
        collection=collection, tags=tag, author=author, years=year, identifier=identifier
    )
