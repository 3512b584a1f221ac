"""``tidyllm zones``, ``tidyllm drop``, ``tidyllm worker``: thin calls into UnifiedDropZones."""

from __future__ import annotations

import contextlib
import json
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn
from rich.table import Table

from tidyllm.cli.output import console
from tidyllm.dropzones import UnifiedDropZones
from tidyllm.errors import DropZoneError
from tidyllm.redaction import redact

app = typer.Typer(help="Drop zones: list, status, retry, history.", no_args_is_help=True)


@contextlib.contextmanager
def _drop_zones() -> Iterator[UnifiedDropZones]:
    """The drop zones of the settings, plus the quickstart's zone once it has run here."""
    from tidyllm.quickstart import with_quickstart_zone
    from tidyllm.session import UnifiedSessionManager
    from tidyllm.settings import load_settings

    loaded = load_settings()
    extra = with_quickstart_zone(loaded.settings)
    with UnifiedSessionManager(load_settings(extra) if extra else loaded) as sm:
        yield UnifiedDropZones(sm)


@app.command("list")
def list_zones() -> None:
    """Every zone declared in the settings file."""
    with _drop_zones() as dz:
        zones = dz.list_zones()
    if not zones:
        console.print("no zones are declared (add `zones:` to the settings file)")
        return
    table = Table("zone", "source", "pipeline", "domain", "enabled")
    for z in zones:
        table.add_row(
            z.name,
            redact(z.source),
            f"{z.pipeline} ({z.pipeline_version})",
            z.domain or "-",
            "yes" if z.enabled else "no",
        )
    console.print(table)


@app.command("status")
def status(zone: Annotated[str | None, typer.Argument(help="One zone (default: all)")] = None):
    """Counts by state, oldest pending file, recent throughput."""
    with _drop_zones() as dz:
        result = dz.status(zone)
    for name, st in result.items():
        counts = ", ".join(f"{k} {v}" for k, v in sorted(st["counts"].items())) or "no files"
        oldest = st["oldest_pending"].isoformat() if st["oldest_pending"] else "-"
        console.print(f"[bold]{name}[/]: {counts}", markup=True)
        console.print(f"  oldest pending: {oldest}")
        console.print(
            f"  finished: {st['finished_last_5_min']} in the last 5 min, "
            f"{st['finished_last_hour']} in the last hour"
        )


@app.command("retry")
def retry(
    file_id: Annotated[int | None, typer.Argument(help="Ledger id of a failed file")] = None,
    failed: Annotated[bool, typer.Option("--failed", help="Retry every failed file")] = False,
    zone: Annotated[str | None, typer.Option("--zone", help="Only this zone")] = None,
) -> None:
    """Move failed files back to incoming/ to be processed again."""
    if (file_id is None) == (not failed):
        raise DropZoneError("give either a ledger ID or --failed")
    with _drop_zones() as dz:
        new = dz.retry(None if failed else [file_id], failed=failed, zone=zone)
    console.print(f"{len(new)} file(s) queued again: {', '.join(f'#{i}' for i in new) or '-'}")
    if new:
        console.print("a running worker picks them up, or run `tidyllm worker --once`")


@app.command("history")
def history(
    ref: Annotated[str, typer.Argument(help="A ledger id or a file name (key)")],
    zone: Annotated[str | None, typer.Option("--zone", help="Only this zone")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output")] = False,
) -> None:
    """The audit trail of a file: every version and every event."""
    with _drop_zones() as dz:
        trail = dz.history(ref, zone=zone)
    if as_json:
        console.print(redact(json.dumps(trail, default=str, indent=2)), markup=False)
        return
    for entry in trail:
        f = entry["file"]
        console.print(
            f"#{f['id']} {f['zone']}/{f['key']!r} state={f['state']} location={f['location']} "
            f"attempts={f['attempts']} sha256={(f['sha256'] or '-')[:12]}",
            markup=False,
        )
        if f.get("dest_key"):
            console.print(f"  -> {f['dest_key']}", markup=False)
        if f.get("error"):
            console.print(f"  error: {f['error'].get('code')}: {f['error'].get('message')}")
        for ev in entry["events"]:
            detail = json.dumps(ev["detail"], default=str)
            console.print(f"  {ev['at']:%Y-%m-%d %H:%M:%S} {ev['kind']} {detail}", markup=False)


def drop(
    files: Annotated[list[Path], typer.Argument(help="Files to upload")],
    zone: Annotated[str, typer.Option("--zone", "-z", help="Target zone")],
) -> None:
    """Upload files into a zone's incoming/ folder through the object store."""
    with _drop_zones() as dz, _progress() as progress:
        task = progress.add_task("dropping", total=len(files))
        for path in files:
            dropped = dz.drop(path, zone=zone)
            progress.console.print(f"dropped {redact(dropped.uri)} ({dropped.size} bytes)")
            progress.advance(task)


def worker(
    zones: Annotated[
        list[str] | None, typer.Option("--zone", "-z", help="Only these zones (repeatable)")
    ] = None,
    concurrency: Annotated[int, typer.Option("--concurrency", "-c", min=1, max=64)] = 1,
    once: Annotated[bool, typer.Option("--once", help="Drain what is there, then exit")] = False,
    lease_seconds: Annotated[float, typer.Option("--lease-seconds", min=1.0)] = 30.0,
    track: Annotated[bool, typer.Option("--track/--no-track", help="MLflow batch runs")] = True,
) -> None:
    """Process files until stopped (SIGTERM finishes or releases current files)."""
    with _drop_zones() as dz:
        w = dz.worker(
            zones or None, concurrency=concurrency, lease_seconds=lease_seconds, track=track
        )
        previous = {s: signal.signal(s, lambda *_: w.stop()) for s in _STOP_SIGNALS}
        try:
            with _progress() as progress:
                task = progress.add_task("files", total=None)
                w.on_outcome = lambda outcome: progress.advance(task)
                summary = w.run(once=once)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
    states = ("done", "duplicate", "failed", "dead", "vanished", "superseded")
    counts = ", ".join(f"{s} {summary.count(s)}" for s in states if summary.count(s))
    console.print(f"worker finished: {counts or 'nothing to do'}")
    if summary.released:
        console.print(f"{summary.released} file(s) released for other workers")


_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def _progress() -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=console,
        transient=True,
    )
