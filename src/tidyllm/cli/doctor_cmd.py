"""``tidyllm doctor``: every service's health and where its settings came from."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from tidyllm.cli.deferred import UnifiedSessionManager, load_settings
from tidyllm.cli.output import console


def doctor(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    config: Annotated[
        Path | None, typer.Option(help="Settings file.", envvar="TIDYLLM_CONFIG")
    ] = None,
) -> None:
    """Probe every service; exit 1 when a configured service is down."""
    with UnifiedSessionManager(load_settings(config_file=config)) as sm:
        results = sm.health()
    failed = [r for r in results if r.configured and not r.ok]
    if as_json:
        console.print_json(json.dumps([asdict(r) for r in results]))
    elif not console.is_terminal:  # a pipe or a file: one line per service, nothing cut
        for r in results:
            status = "ok" if r.ok else ("DOWN" if r.configured else "-")
            line = f"{r.service}: {status} ({r.latency_ms:.0f} ms) {r.detail} [source: {r.source}]"
            console.print(line, markup=False, soft_wrap=True)
    else:
        table = Table("service", "status", "latency")
        table.add_column("detail", overflow="fold")  # long paths wrap, never end in "…"
        table.add_column("source", overflow="fold")
        for r in results:
            status = "[green]ok[/]" if r.ok else ("[red]DOWN[/]" if r.configured else "[dim]-[/]")
            table.add_row(r.service, status, f"{r.latency_ms:.0f} ms", r.detail, r.source)
        console.print(table)
    if failed:
        raise typer.Exit(1)
