"""``tidyllm docs similar DOC`` and ``tidyllm collections report C`` (issue 13 item 4).

Thin: each command calls one library function of :mod:`tidyllm.knowledge.similar`.
Importing this module registers both commands on their groups (docs_cmd and
collections_cmd import it on their last line).
"""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.markup import escape

from tidyllm.cli.collections_cmd import app as collections_app
from tidyllm.cli.deferred import UnifiedSessionManager
from tidyllm.cli.docs_cmd import app as docs_app
from tidyllm.cli.output import console
from tidyllm.redaction import redact

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]


def _out(text: object) -> str:
    return escape(redact(str(text)))


def _json(data: object) -> None:
    console.print_json(redact(json.dumps(data, ensure_ascii=False, default=str)))


def similar(
    document: Annotated[int, typer.Argument(help="Document id (from `tidyllm docs list`).")],
    k: Annotated[int, typer.Option("--k", "-k", help="How many similar documents (1-100).")] = 10,
    as_json: JsonOption = False,
) -> None:
    """The documents of the same domain closest to DOC (cosine of document vectors)."""
    from tidyllm.knowledge.similar import similar_documents

    with UnifiedSessionManager() as sm:
        found = similar_documents(sm, document, k)
    if as_json:
        _json(
            {
                "document_id": found.document_id,
                "domain": found.domain,
                "title": found.title,
                "similar": [d.__dict__ for d in found.documents],
            }
        )
        return
    console.print(
        f"documents like {found.document_id} {_out(found.title or '')} "
        f"(domain {_out(found.domain)}):"
    )
    if not found.documents:
        console.print("  (no other document in the domain)")
    for d in found.documents:
        console.print(f"  {d.similarity:6.3f}  {d.document_id:>8}  {_out(d.title or d.source_uri)}")


def report(
    collection: Annotated[str, typer.Argument(help="Collection name.")],
    domain: Annotated[
        str | None,
        typer.Option("--domain", "-d", help="The domain, when the name is in several."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Pairwise similarity and closest pairs of a collection's documents (also to MLflow)."""
    from tidyllm.knowledge.similar import collection_report

    with UnifiedSessionManager() as sm:
        done = collection_report(sm, collection, domain=domain)
    if as_json:
        _json(
            {
                "domain": done.domain,
                "collection": done.collection,
                "documents": [{"id": i, "title": t} for i, t in done.documents],
                "matrix": done.matrix,
                "closest_pairs": [p.__dict__ for p in done.pairs],
                "without_text": done.without_text,
                "truncated": done.truncated,
                "mlflow_run_key": done.run_key,
            }
        )
        return
    console.print(_out(done.text), end="", soft_wrap=True, highlight=False)
    if done.run_key:
        console.print(f"logged to MLflow (run key {done.run_key}; sent in the background)")


docs_app.command("similar")(similar)
collections_app.command("report")(report)
