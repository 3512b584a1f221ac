"""Entry point: ``tidyllm``. Each command opens the core object, calls one function, prints.

Start-up is kept cheap: command modules (and the database, S3, MLflow and model
libraries behind them) are imported only when their command runs, so
``tidyllm --help`` and ``tidyllm CMD --help`` stay fast (docs/session.md,
"CLI latency").
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
from typing import Annotated

import typer

from tidyllm import __version__, interrupt
from tidyllm.cli.errors import EXIT_INTERRUPTED, Lazy, LazyGroup, report_interrupted
from tidyllm.redaction import install_log_redaction

_CLI = "tidyllm.cli."

#: Every command: name -> where it lives and the line ``tidyllm --help`` shows. Commands
#: first, then groups, in the order of the help.
COMMANDS: dict[str, Lazy] = {
    "doctor": Lazy(
        _CLI + "doctor_cmd:doctor",
        "Probe every service; exit 1 when a configured service is down.",
    ),
    "init": Lazy(
        _CLI + "config_cmd:init",
        "Write a commented settings file with every setting at its default.",
    ),
    "ingest": Lazy(
        _CLI + "knowledge_cmd:ingest",
        "Index files into a domain through its drop-zone ledger; a rerun indexes nothing twice.",
    ),
    "search": Lazy(
        _CLI + "knowledge_cmd:search_command", "Hybrid search (vector + full text) in a domain."
    ),
    "ask": Lazy(
        _CLI + "knowledge_cmd:ask_command",
        "Answer a question from a domain, citing document and page.",
    ),
    "chat": Lazy(
        _CLI + "knowledge_cmd:chat_command",
        "Chat with a domain; follow-up questions use the conversation (empty line or EOF ends).",
    ),
    "eval": Lazy(
        _CLI + "knowledge_cmd:eval_command",
        "Retrieval and answer quality per dataset, split (tune/heldout) and mode, in one table.",
    ),
    "drop": Lazy(
        _CLI + "zones_cmd:drop",
        "Upload files into a zone's incoming/ folder through the object store.",
    ),
    "worker": Lazy(
        _CLI + "zones_cmd:worker",
        "Process files until stopped (SIGTERM finishes or releases current files).",
    ),
    "quickstart": Lazy(
        _CLI + "quickstart_cmd:quickstart",
        "Create a domain, drop the sample documents, process them, answer a question.",
    ),
    "audit": Lazy(
        _CLI + "access_cmd:audit",
        "Show the audit log: who did what, when, from where (oldest first).",
    ),
    "serve": Lazy(
        _CLI + "serve_cmd:serve",
        "Run the REST API, with a drop-zone worker in the background unless --no-worker.",
    ),
    "check": Lazy(
        "tidyllm.archcheck.cli:check_command",
        "Report code that bypasses the UnifiedSessionManager.",
    ),
    "migrate": Lazy(
        "tidyllm.archcheck.cli:migrate_command",
        "Rewrite legacy client construction to use the UnifiedSessionManager.",
    ),
    "config": Lazy(_CLI + "config_cmd:app", "Show the effective settings."),
    "credentials": Lazy(_CLI + "credentials_cmd:app", "Secrets in the encrypted credential store."),
    "db": Lazy(_CLI + "db_cmd:app", "The database: migrations and the embedded server."),
    "domains": Lazy(
        _CLI + "knowledge_cmd:domains_app",
        "Knowledge domains: create, list, show, delete, sync.",
    ),
    "zones": Lazy(_CLI + "zones_cmd:app", "Drop zones: list, status, retry, history."),
    "docs": Lazy(
        _CLI + "docs_cmd:app", "Documents' metadata: list (filtered), show, set, tag, untag."
    ),
    "collections": Lazy(
        _CLI + "collections_cmd:app",
        "Collections of documents: create, list, show, delete, add, remove.",
    ),
    "users": Lazy(
        _CLI + "access_cmd:users_app",
        "Users of the HTTP API: add, list, delete, set-role, disable.",
    ),
    "tokens": Lazy(
        _CLI + "access_cmd:tokens_app", "API tokens: create (shown once), list, revoke."
    ),
    "grants": Lazy(_CLI + "access_cmd:grants_app", "Per-domain grants: add, remove, list."),
    "tracking": Lazy(
        _CLI + "tracking_cmd:app", "MLflow tracking: send or count buffered runs and traces."
    ),
    "papers": Lazy(
        _CLI + "papers_cmd:app",
        "Papers: add from arXiv or by DOI, import the legacy whitepapers folder or BibTeX.",
    ),
}


class TidyLLMGroup(LazyGroup):
    lazy_commands = COMMANDS


app = typer.Typer(
    cls=TidyLLMGroup,
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
    from tidyllm.cli.logconfig import configure_logging

    configure_logging(verbose)  # -v > TIDYLLM_LOG_LEVEL > log_level in the settings file
    ctx.obj = {"verbose": verbose}


# --- interruption -----------------------------------------------------------------------------

_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _on_signal(signum: int, frame: object) -> None:
    """SIGINT/SIGTERM: stop running work gracefully, else unwind with KeyboardInterrupt.

    A drop-zone worker (``ingest``, ``quickstart``) is asked to stop: its current
    files finish within the grace period and the other leases are given back, then
    the command ends. Anything else unwinds, closing the session manager on its way
    out. A second signal stops waiting.
    """
    if interrupt.requested():
        report_interrupted()
        _exit_now(EXIT_INTERRUPTED)
    if not interrupt.request_stop():
        raise KeyboardInterrupt
    with contextlib.suppress(OSError):  # raw write: safe whatever the main thread was printing
        os.write(2, b"\nstopping: finishing the current file(s); press Ctrl-C again to quit now\n")


def _exit_now(code: int) -> None:
    """Flush and end the process without the interpreter's shutdown.

    Why ``os._exit``: after an interruption, threads may still be inside native code
    (onnxruntime's intra-op pool, a worker thread embedding or extracting a file past
    its grace period). A normal exit runs the C++ runtime's static destructors under
    them, which aborts with "terminate called without an active exception" (exit
    134). By the time we get here the command has unwound: the session manager is
    closed, leases are released, output is flushed here; nothing else needs the
    interpreter's shutdown.
    """
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed or broken pipe
            stream.flush()
    logging.shutdown()
    os._exit(code)


def run() -> None:
    """Console-script entry point."""
    for sig in _STOP_SIGNALS:
        signal.signal(sig, _on_signal)
    try:
        app()
    except SystemExit:
        if not interrupt.requested():
            raise
    except KeyboardInterrupt:  # raised outside a command (while parsing): the group missed it
        interrupt.request_stop()
    if interrupt.requested():
        report_interrupted()
        _exit_now(EXIT_INTERRUPTED)
