"""``tidyllm tracking``: the MLflow outbox (buffered batch runs and question traces)."""

from __future__ import annotations

import typer

from tidyllm.cli.output import console
from tidyllm.redaction import redact
from tidyllm.session import UnifiedSessionManager

app = typer.Typer(
    help="MLflow tracking: send or count buffered runs and traces.", no_args_is_help=True
)


@app.command("status")
def status() -> None:
    """Count the runs and traces waiting to be sent to MLflow (no MLflow import)."""
    with UnifiedSessionManager() as sm:
        pending = sm.outbox().pending()
        root = sm.outbox().root
    console.print(
        f"{pending['runs']} run(s) and {pending['traces']} trace(s) waiting in {redact(root)}"
    )


@app.command("flush")
def flush() -> None:
    """Send every buffered run and trace to MLflow now; exit 1 if some could not be sent."""
    from tidyllm.tracking.shipping import flush as run_flush

    with UnifiedSessionManager() as sm:
        report = run_flush(sm)
    console.print(
        f"sent {report.runs} run(s) and {report.traces} trace(s); still waiting: "
        f"{report.pending.get('runs', 0)} run(s), {report.pending.get('traces', 0)} trace(s)"
        + ("; MLflow is unreachable, they stay buffered" if report.outage else "")
    )
    for failure in report.failures:
        console.print(f"[red]not sent[/] {redact(failure)}")
    if report.failures or report.outage:
        raise typer.Exit(1)
