"""``tidyllm docs``: documents with their metadata (list filtered, show, set, tag, untag).

The metadata filter options (``--collection``, ``--tag``, ``--author``, ``--year``,
``--id``) are :mod:`tidyllm.cli.filters`, shared with ``search``, ``ask``, ``chat``, ``eval``.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from tidyllm.cli.deferred import UnifiedSessionManager
from tidyllm.cli.filters import (
    AuthorOption,
    CollectionOption,
    IdentifierOption,
    TagOption,
    YearOption,
    where,
)
from tidyllm.cli.output import console
from tidyllm.redaction import redact

app = typer.Typer(help="Documents' metadata: list (filtered), show, set, tag, untag.")
app.info.no_args_is_help = True

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]
DocArgument = Annotated[int, typer.Argument(help="Document id (from `tidyllm docs list`).")]


def _out(text: object) -> str:
    """Untrusted text (titles, names) made safe for Rich and free of secrets."""
    return escape(redact(str(text)))


def _json(data: object) -> None:
    console.print_json(redact(json.dumps(data, ensure_ascii=False, default=str)))


def _authors(authors: tuple[str, ...]) -> str:
    if not authors:
        return "-"
    return ", ".join(authors[:2]) + (" et al." if len(authors) > 2 else "")


@app.command("list")
def docs_list(
    domain: Annotated[str, typer.Argument(help="Domain name.")],
    collection: CollectionOption = None,
    tag: TagOption = None,
    author: AuthorOption = None,
    year: YearOption = None,
    identifier: IdentifierOption = None,
    limit: Annotated[int, typer.Option(help="Documents per page (1-200).")] = 50,
    cursor: Annotated[
        str | None, typer.Option(help="Continue after a previous page (its next cursor).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """List a domain's documents with their metadata, newest first, filtered."""
    from tidyllm.knowledge.catalog import list_catalog

    flt = where(collection, tag, author, year, identifier)
    with UnifiedSessionManager() as sm:
        page = list_catalog(sm, domain, where=flt, limit=limit, cursor=cursor)
    if as_json:
        _json(
            {
                "domain": domain,
                "filter": flt.describe() if flt else {},
                "documents": [e.as_json() for e in page.documents],
                "next_cursor": page.next_cursor,
            }
        )
        return
    if not page.documents:
        console.print("no documents match" if flt else f"no documents in {_out(domain)} yet")
        return
    table = Table("id", "year", "title", "authors", "tags", "collections")
    for entry in page.documents:
        m = entry.metadata
        table.add_row(
            str(entry.id),
            str(m.year or "-"),
            _out(m.title or entry.source_uri.rsplit("/", 1)[-1]),
            _out(_authors(m.authors)),
            _out(", ".join(m.tags) or "-"),
            _out(", ".join(entry.collections) or "-"),
        )
    console.print(table)
    if page.next_cursor:
        console.print(f"more: add --cursor {page.next_cursor}")


@app.command("show")
def docs_show(document: DocArgument, as_json: JsonOption = False) -> None:
    """Show a document's metadata, where each field came from, and its names."""
    from tidyllm.knowledge.catalog import show_entry

    with UnifiedSessionManager() as sm:
        entry = show_entry(sm, document)
    if as_json:
        _json(entry.as_json())
        return
    _print_entry(entry)


def _print_entry(entry: Any) -> None:
    m = entry.metadata
    rows: list[tuple[str, object, str | None]] = [
        ("id", entry.id, None),
        ("domain", entry.domain, None),
        ("source", entry.source_uri, None),
        ("title", m.title, "title"),
        ("authors", "; ".join(m.authors) or None, "authors"),
        ("year", m.year, "year"),
        ("date", m.date, "date"),
        ("doi", m.doi, "doi"),
        ("arxiv_id", m.arxiv_id, "arxiv_id"),
        ("isbn", m.isbn, "isbn"),
        ("url", m.url, "url"),
        ("tags", "; ".join(m.tags) or None, "tags"),
        ("collections", ", ".join(entry.collections) or None, None),
        ("notes", m.notes, "notes"),
        ("abstract", m.abstract, "abstract"),
    ]
    rows += [(f"fields.{k}", v, f"fields.{k}") for k, v in sorted(m.fields.items())]
    for label, value, source in rows:
        if value is None:
            continue
        text = str(value)
        if label == "abstract" and len(text) > 300:
            text = text[:300] + "..."
        layer = m.provenance.get(source) if source else None  # None: the indexed title
        origin = f"  [dim]({layer})[/]" if layer else ""
        console.print(f"{label:>12}: {_out(text)}{origin}")
    if len(entry.names) > 1:  # the names it arrived under, and why each is this document
        from tidyllm.knowledge.dedup import same_because

        for i, name in enumerate(entry.names):
            label = "names" if i == 0 else ""
            why = same_because(name.reason)
            console.print(f"{label:>12}: {_out(name.source_uri)}  [dim]({_out(why)})[/]")


@app.command("set")
def docs_set(
    document: DocArgument,
    assignments: Annotated[
        list[str],
        typer.Argument(
            help="key=value: title, authors ('A; B'), year, date, doi, arxiv_id, isbn, url, "
            "abstract, tags ('a; b'), notes, or fields.NAME; an empty value clears a field."
        ),
    ],
    as_json: JsonOption = False,
) -> None:
    """Edit fields (kept across re-ingests of the document)."""
    from tidyllm.knowledge.catalog import parse_assignments, set_fields

    values = parse_assignments(assignments)
    with UnifiedSessionManager() as sm:
        entry = set_fields(sm, document, values)
    if as_json:
        _json(entry.as_json())
        return
    _print_entry(entry)


@app.command("tag")
def docs_tag(
    document: DocArgument,
    tags: Annotated[list[str], typer.Argument(help="Tags to add.")],
    as_json: JsonOption = False,
) -> None:
    """Add tags to a document."""
    from tidyllm.knowledge.catalog import tag_document

    with UnifiedSessionManager() as sm:
        entry = tag_document(sm, document, tags)
    if as_json:
        _json(entry.as_json())
        return
    console.print(f"document {entry.id} tags: {_out(', '.join(entry.metadata.tags) or '-')}")


@app.command("untag")
def docs_untag(
    document: DocArgument,
    tags: Annotated[list[str], typer.Argument(help="Tags to remove.")],
    as_json: JsonOption = False,
) -> None:
    """Remove tags from a document."""
    from tidyllm.knowledge.catalog import untag_document

    with UnifiedSessionManager() as sm:
        entry = untag_document(sm, document, tags)
    if as_json:
        _json(entry.as_json())
        return
    console.print(f"document {entry.id} tags: {_out(', '.join(entry.metadata.tags) or '-')}")


# Other commands of the group register below (docs similar).
from tidyllm.cli import similar_cmd as _similar  # noqa: E402, F401 - docs similar, collections report
