"""Entry point: ``tidyllm``. Each command opens the core object, calls one function, prints."""

from __future__ import annotations

import logging
import os
from typing import Annotated

import typer

from tidyllm import __version__
from tidyllm.archcheck.cli import check_command, migrate_command
from tidyllm.cli import (
    config_cmd,
    credentials_cmd,
    db_cmd,
    doctor_cmd,
    knowledge_cmd,
    quickstart_cmd,
    zones_cmd,
)
from tidyllm.cli.errors import ErrorMappingGroup
from tidyllm.redaction import install_log_redaction

app = typer.Typer(
    cls=ErrorMappingGroup,
    help="TidyLLM: documents in, governed and searchable knowledge out.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"tidyllm {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    ctx: typer.Context,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Debug logging and full error causes.")
    ] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show version.")
    ] = False,
) -> None:
    """Global options."""
    install_log_redaction()
    logging.basicConfig(level=logging.DEBUG if verbose else logging.WARNING)
    if not verbose:
        # MLflow and alembic log INFO chatter to stdout; MLflow re-reads this when imported.
        os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
        for noisy in ("mlflow", "alembic"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
    ctx.obj = {"verbose": verbose}


app.command("doctor")(doctor_cmd.doctor)
app.command("init")(config_cmd.init)
app.add_typer(config_cmd.app, name="config")
app.add_typer(credentials_cmd.app, name="credentials")
app.add_typer(db_cmd.app, name="db")
app.add_typer(knowledge_cmd.domains_app, name="domains")
app.command("ingest")(knowledge_cmd.ingest)
app.command("search")(knowledge_cmd.search_command)
app.command("ask")(knowledge_cmd.ask_command)
app.command("chat")(knowledge_cmd.chat_command)
app.command("eval")(knowledge_cmd.eval_command)
app.add_typer(zones_cmd.app, name="zones")
app.command("drop")(zones_cmd.drop)
app.command("worker")(zones_cmd.worker)
app.command("quickstart")(quickstart_cmd.quickstart)


app.command("check")(check_command)
app.command("migrate")(migrate_command)


def run() -> None:
    """Console-script entry point."""
    app()
