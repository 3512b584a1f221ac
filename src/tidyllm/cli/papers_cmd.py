"""``tidyllm papers``: add papers from arXiv or by DOI, import the legacy folder or a .bib file.

Each command calls one library function (:mod:`tidyllm.knowledge.papers`,
:mod:`tidyllm.knowledge.bibtex`) and prints its report.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from tidyllm.cli.deferred import UnifiedSessionManager
from tidyllm.cli.output import console, err_console
from tidyllm.redaction import redact

app = typer.Typer(
    help="Papers: add from arXiv or by DOI, import the legacy whitepapers folder or BibTeX.",
    no_args_is_help=True,
)

DomainOption = Annotated[str, typer.Option("--domain", "-d", help="Domain to add into.")]
CollectionOption = Annotated[
    str | None, typer.Option("--collection", "-c", help="Also put the papers in this collection.")
]


def _out(text: object) -> str:
    return escape(redact(str(text)))


def _fail(label: str, exc: Any) -> None:
    err_console.print(f"[red]failed[/] {_out(label)}: {_out(exc)}")  # its hint included


@app.command("add")
def add(
    refs: Annotated[
        list[str], typer.Argument(help="arxiv:2410.11842[v2] or doi:10.1234/abcd, one or more.")
    ],
    domain: DomainOption,
    collection: CollectionOption = None,
) -> None:
    """Fetch papers' metadata (arXiv, Crossref) and arXiv PDFs into a domain."""
    from tidyllm.knowledge.papers import add_papers

    def show(ref: str, result: Any) -> None:
        if isinstance(result, Exception):
            _fail(ref, result)
            return
        what = "with its PDF" if result.has_file else "metadata only"
        console.print(
            f"{result.status} {_out(ref)}: document {result.document_id}, "
            f"{_out(result.title or '(untitled)')} ({what})"
        )

    with UnifiedSessionManager() as sm:
        results = add_papers(sm, domain, refs, collection=collection, progress=show)
    if any(isinstance(r, Exception) for r in results):
        raise typer.Exit(1)


@app.command("import-legacy")
def import_legacy_command(
    folder: Annotated[
        Path, typer.Argument(help="The folder holding repository_index.json, metadata/, papers/.")
    ],
    domain: DomainOption,
) -> None:
    """Import the legacy whitepapers folder; papers whose PDF is missing are listed."""
    from tidyllm.knowledge.papers import import_legacy

    with UnifiedSessionManager() as sm:
        report = import_legacy(sm, domain, folder)
    counts = {s: report.count(s) for s in ("added", "updated", "unchanged", "failed")}
    console.print(
        f"{len(report.papers)} paper(s): "
        + ", ".join(f"{n} {s}" for s, n in counts.items())
        + f"; {len(report.collections_created)} collection(s) created"
    )
    if report.missing:
        console.print(f"{len(report.missing)} without a PDF (kept as metadata-only documents):")
        for paper in report.missing:
            console.print(f"  {_out(paper.paper_id)}  {_out(paper.title)}: {_out(paper.missing)}")
    for problem in report.problems:
        err_console.print(f"[yellow]warning[/] {_out(problem)}")
    if counts["failed"]:
        raise typer.Exit(1)


@app.command("import-bibtex")
def import_bibtex_command(
    bib: Annotated[Path, typer.Argument(help="A .bib file (UTF-8).")],
    domain: DomainOption,
    collection: CollectionOption = None,
) -> None:
    """Import a .bib file; attached files (file = {...}) inside its folder are ingested."""
    from tidyllm.knowledge.bibtex import import_bibtex

    with UnifiedSessionManager() as sm:
        report = import_bibtex(sm, domain, bib, collection=collection)
    counts = {s: report.count(s) for s in ("added", "updated", "unchanged", "failed")}
    files = sum(len(e.files) for e in report.entries)
    console.print(
        f"{len(report.entries)} entr(y/ies): "
        + ", ".join(f"{n} {s}" for s, n in counts.items())
        + f"; {files} attached file(s) indexed"
    )
    for problem in report.problems:
        err_console.print(f"[yellow]warning[/] {_out(problem)}")
    if counts["failed"]:
        raise typer.Exit(1)
