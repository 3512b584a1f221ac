"""``python -m tidyllm.archcheck check|migrate``: the commands without the main CLI."""

from __future__ import annotations

import typer

from tidyllm.archcheck.cli import check_command, migrate_command

app = typer.Typer(add_completion=False, no_args_is_help=True)
app.command("check")(check_command)
app.command("migrate")(migrate_command)

if __name__ == "__main__":
    app()
