"""Entry point: ``tidyllm``. Each command opens the core object, calls one function, prints."""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from tidyllm import __version__
from tidyllm.archcheck.cli import check_command, migrate_command
from tidyllm.cli import config_cmd, credentials_cmd, db_cmd, doctor_cmd
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
        for noisy in ("mlflow", "alembic"):  # they log INFO chatter to stdout by default
            logging.getLogger(noisy).setLevel(logging.WARNING)
    ctx.obj = {"verbose": verbose}


app.command("doctor")(doctor_cmd.doctor)
app.command("init")(config_cmd.init)
app.add_typer(config_cmd.app, name="config")
app.add_typer(credentials_cmd.app, name="credentials")
app.add_typer(db_cmd.app, name="db")


app.command("check")(check_command)
app.command("migrate")(migrate_command)


def run() -> None:
    """Console-script entry point."""
    app()
