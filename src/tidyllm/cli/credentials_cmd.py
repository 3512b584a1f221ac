"""``tidyllm credentials``: set, list, delete and check secrets in the encrypted store.

Values are read from a hidden prompt or standard input, never from argv
(argv is visible to every user through /proc and shell history).
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from cryptography.fernet import Fernet

from tidyllm.cli.output import console, err_console
from tidyllm.credentials import CredentialStore
from tidyllm.errors import CredentialError
from tidyllm.session import UnifiedSessionManager
from tidyllm.settings import load_settings

app = typer.Typer(help="Secrets in the encrypted credential store.", no_args_is_help=True)


def _store() -> CredentialStore:
    return CredentialStore(load_settings().settings.data_dir)


@app.command("set")
def set_(
    name: Annotated[str, typer.Argument(help="Secret name, used as secret:NAME in settings.")],
    stdin: Annotated[bool, typer.Option("--stdin", help="Read the value from stdin.")] = False,
) -> None:
    """Store or rotate a secret (hidden prompt, or --stdin)."""
    if stdin or not sys.stdin.isatty():
        value = sys.stdin.readline().rstrip("\r\n")
    else:
        value = typer.prompt(f"value for {name}", hide_input=True, confirmation_prompt=True)
    if not value:
        raise CredentialError("no value given")
    _store().set(name, value)
    console.print(f"stored {name}")


@app.command("list")
def list_() -> None:
    """List stored secret names (never values)."""
    names = _store().names()
    if not names:  # on stderr: stdout stays one name per line for scripts
        err_console.print(
            "no secrets stored; add one with `tidyllm credentials set NAME`", markup=False
        )
    for name in names:
        console.print(name)


@app.command("delete")
def delete(name: Annotated[str, typer.Argument(help="Secret name.")]) -> None:
    """Delete a secret."""
    if not _store().delete(name):
        raise CredentialError(f"secret {name!r} is not set")
    console.print(f"deleted {name}")


@app.command("check")
def check() -> None:
    """Decrypt the store and resolve every secret the settings refer to."""
    with UnifiedSessionManager() as sm:
        from tidyllm.session.probes import check_credentials

        detail, source = check_credentials(sm)
    console.print(f"{detail}; {source}")


@app.command("new-key")
def new_key() -> None:
    """Print a new master key to put in TIDYLLM_MASTER_KEY or a secrets manager."""
    console.print(Fernet.generate_key().decode())
