"""``tidyllm collections``: named sets of documents in a domain (create, list, show, delete,
add, remove)."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from tidyllm.cli.deferred import UnifiedSessionManager
from tidyllm.cli.output import console
from tidyllm.redaction import redact

app = typer.Typer(help="Collections of documents: create, list, show, delete, add, remove.")
app.info.no_args_is_help = True

NameArgument = Annotated[str, typer.Argument(help="Collection name.")]
DomainOption = Annotated[
    str | None,
    typer.Option(
        "--domain", "-d", help="The collection's domain (needed when the name is in two)."
    ),
]
DocsArgument = Annotated[list[int], typer.Argument(help="Document ids (from `tidyllm docs list`).")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]


def _out(text: object) -> str:
    return escape(redact(str(text)))


def _json(data: object) -> None:
    console.print_json(redact(json.dumps(data, ensure_ascii=False, default=str)))


def _as_json(c) -> dict:  # type: ignore[no-untyped-def]
    return {
        "domain": c.domain,
        "name": c.name,
        "description": c.description,
        "documents": c.documents,
        "created_at": c.created_at.isoformat(),
    }


@app.command("create")
def collections_create(
    name: NameArgument,
    domain: Annotated[str, typer.Option("--domain", "-d", help="The domain it belongs to.")],
    description: Annotated[str, typer.Option(help="What it holds.")] = "",
    as_json: JsonOption = False,
) -> None:
    """Create an empty collection in a domain."""
    from tidyllm.knowledge.collections import create_collection

    with UnifiedSessionManager() as sm:
        made = create_collection(sm, name, domain=domain, description=description)
    if as_json:
        _json(_as_json(made))
        return
    console.print(f"created collection {_out(made.name)} in domain {_out(made.domain)}")


@app.command("list")
def collections_list(domain: DomainOption = None, as_json: JsonOption = False) -> None:
    """List collections (of one domain) with their document counts."""
    from tidyllm.knowledge.collections import list_collections

    with UnifiedSessionManager() as sm:
        rows = list_collections(sm, domain=domain)
    if as_json:
        _json([_as_json(c) for c in rows])
        return
    if not rows:
        console.print("no collections yet: tidyllm collections create NAME --domain DOMAIN")
        return
    table = Table("domain", "name", "documents", "description")
    for c in rows:
        table.add_row(_out(c.domain), _out(c.name), str(c.documents), _out(c.description or "-"))
    console.print(table)


@app.command("show")
def collections_show(
    name: NameArgument,
    domain: DomainOption = None,
    limit: Annotated[int, typer.Option(help="Documents to show (1-1000).")] = 50,
    as_json: JsonOption = False,
) -> None:
    """Show a collection and its newest documents."""
    from tidyllm.knowledge.collections import show_collection

    with UnifiedSessionManager() as sm:
        detail = show_collection(sm, name, domain=domain, limit=limit)
    c = detail.collection
    if as_json:
        docs = [{"id": i, "title": t} for i, t in detail.documents]
        _json(_as_json(c) | {"document_list": docs})
        return
    console.print(f"collection {_out(c.name)} in domain {_out(c.domain)}: {c.documents} documents")
    if c.description:
        console.print(_out(c.description))
    for doc_id, title in detail.documents:
        console.print(f"  {doc_id}  {_out(title or '-')}")
    if c.documents > len(detail.documents):
        console.print(
            f"  ... all of them: tidyllm docs list {_out(c.domain)} --collection '{_out(c.name)}'"
        )


@app.command("delete")
def collections_delete(
    name: NameArgument, domain: DomainOption = None, as_json: JsonOption = False
) -> None:
    """Delete a collection (its documents stay in the domain)."""
    from tidyllm.knowledge.collections import delete_collection

    with UnifiedSessionManager() as sm:
        gone = delete_collection(sm, name, domain=domain)
    if as_json:
        _json(_as_json(gone))
        return
    console.print(
        f"deleted collection {_out(gone.name)} from domain {_out(gone.domain)} "
        f"({gone.documents} documents stay in the domain)"
    )


@app.command("add")
def collections_add(
    name: NameArgument,
    documents: DocsArgument,
    domain: DomainOption = None,
    as_json: JsonOption = False,
) -> None:
    """Add documents of the collection's domain to it (all or none)."""
    _change(name, documents, domain, as_json, add=True)


@app.command("remove")
def collections_remove(
    name: NameArgument,
    documents: DocsArgument,
    domain: DomainOption = None,
    as_json: JsonOption = False,
) -> None:
    """Take documents out of a collection (they stay in the domain)."""
    _change(name, documents, domain, as_json, add=False)


def _change(
    name: str, documents: list[int], domain: str | None, as_json: bool, *, add: bool
) -> None:
    from tidyllm.knowledge.collections import add_to_collection, remove_from_collection

    with UnifiedSessionManager() as sm:
        change = add_to_collection if add else remove_from_collection
        done = change(sm, name, documents, domain=domain)
    # (verb, JSON key of the unchanged ids, preposition, what the unchanged ones were)
    verb, key, to, rest = (
        ("added", "already", "to", "already in it")
        if add
        else ("removed", "not_in", "from", "were not in it")
    )
    if as_json:
        _json(_as_json(done.collection) | {verb: done.changed, key: done.unchanged})
        return
    c = done.collection
    others = f", {len(done.unchanged)} {rest}" if done.unchanged else ""
    count = f"{len(done.changed)} document(s)"
    console.print(f"{verb} {count} {to} {_out(c.name)}{others}; it holds {c.documents}")


# Other commands of the group register below (collections report, collections export).
import tidyllm.cli.export_cmd  # noqa: E402, F401 - registers `collections export`
from tidyllm.cli import similar_cmd as _similar  # noqa: E402, F401 - collections report, docs similar
