"""``tidyllm collections export``: a collection's citations as BibTeX or CSL-JSON.

Registered on the ``collections`` group when :mod:`tidyllm.cli.collections_cmd` imports this
module (one line at its end); the work is :func:`tidyllm.knowledge.bibtex.export_collection`.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from tidyllm.cli.collections_cmd import app
from tidyllm.cli.deferred import UnifiedSessionManager
from tidyllm.cli.output import err_console


@app.command("export")
def export(
    collection: Annotated[str, typer.Argument(help="Collection name.")],
    domain: Annotated[
        str | None,
        typer.Option(
            "--domain", "-d", help="The collection's domain (needed when the name is in two)."
        ),
    ] = None,
    fmt: Annotated[
        str, typer.Option("--format", "-f", help="bibtex or csl-json.", case_sensitive=False)
    ] = "bibtex",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file (default: stdout).")
    ] = None,
) -> None:
    """Export a collection's citations as BibTeX or CSL-JSON."""
    from tidyllm.knowledge.bibtex import export_collection

    with UnifiedSessionManager() as sm:
        text = export_collection(sm, collection, fmt.lower(), domain=domain)
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        err_console.print(f"wrote {output}")
