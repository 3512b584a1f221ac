"""``tidyllm db``: the embedded PostgreSQL server and schema migrations."""

from __future__ import annotations

import typer

from tidyllm.cli.output import console
from tidyllm.db import embedded_running, migration_head, stop_embedded
from tidyllm.session import UnifiedSessionManager
from tidyllm.settings import load_settings

app = typer.Typer(help="The database: migrations and the embedded server.", no_args_is_help=True)


def _data_dir():
    return load_settings().settings.data_dir


@app.command("migrate")
def migrate() -> None:
    """Apply pending schema migrations (starts the embedded server when no URL is set)."""
    with UnifiedSessionManager() as sm, sm.connection() as conn:
        head = migration_head(conn)
    console.print(f"schema at {head}" if head else "schema empty")


@app.command("status")
def status() -> None:
    """Say whether the embedded server for this data directory is running."""
    running = embedded_running(_data_dir())
    console.print("embedded PostgreSQL: " + ("running" if running else "stopped"))


@app.command("stop")
def stop() -> None:
    """Stop the embedded PostgreSQL server for this data directory."""
    if stop_embedded(_data_dir()):
        console.print("embedded PostgreSQL stopped")
    else:
        console.print("embedded PostgreSQL was not running")
