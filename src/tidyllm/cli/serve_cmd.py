"""``tidyllm serve``: the REST API (and later the web UI) on uvicorn.

Loopback by default. Binding to another address without TLS prints a warning:
tokens and passwords would cross the network in clear text.

With ``--workers N`` (N > 1) the HTTP metrics use prometheus-client's multiprocess
mode: ``PROMETHEUS_MULTIPROC_DIR`` names a fresh private directory (``mkdtemp``, 0700)
made for this run before uvicorn spawns the server processes, which inherit it; the
directory is removed when the server stops. One process keeps its metrics in memory
and the variable is unset (a directory left from another program would add its counts).
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import tempfile
from pathlib import Path
from typing import Annotated

import typer

from tidyllm import interrupt
from tidyllm.cli.output import err_console
from tidyllm.errors import SettingsError

LOOPBACK_NAMES = {"localhost"}
GRACEFUL_SECONDS = 30
#: prometheus-client's multiprocess directory (``tidyllm.server.metrics.MULTIPROC_ENV``).
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(
    host: Annotated[str, typer.Option(help="Address to bind (loopback by default).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="TCP port.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Server processes.")] = 1,
    no_worker: Annotated[
        bool, typer.Option("--no-worker", help="No drop-zone worker in the background.")
    ] = False,
    ssl_certfile: Annotated[Path | None, typer.Option(help="TLS certificate (PEM).")] = None,
    ssl_keyfile: Annotated[Path | None, typer.Option(help="TLS private key (PEM).")] = None,
    forwarded_allow_ips: Annotated[
        str | None,
        typer.Option(help="Trust X-Forwarded-For/-Proto from these proxy addresses (comma list)."),
    ] = None,
) -> None:
    """Run the REST API, with a drop-zone worker in the background unless --no-worker."""
    import uvicorn

    if (ssl_certfile is None) != (ssl_keyfile is None):
        raise SettingsError("TLS needs both --ssl-certfile and --ssl-keyfile")
    if not is_loopback(host) and ssl_certfile is None:
        err_console.print(
            f"[bold yellow]warning:[/] serving on {host} without TLS: tokens and passwords "
            "cross the network in clear text; add --ssl-certfile and --ssl-keyfile or put "
            "a TLS proxy in front",
        )
    if no_worker:
        os.environ["TIDYLLM_SERVER__WORKER"] = "false"  # the setting, for every server process
    shared = _metrics_dir(workers)
    try:
        uvicorn.run(
            "tidyllm.server.app:create_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            ssl_certfile=str(ssl_certfile) if ssl_certfile else None,
            ssl_keyfile=str(ssl_keyfile) if ssl_keyfile else None,
            timeout_graceful_shutdown=GRACEFUL_SECONDS,
            # off unless a proxy is named: otherwise any local process could pick the client
            # address that login throttling and the audit log record
            proxy_headers=forwarded_allow_ips is not None,
            forwarded_allow_ips=forwarded_allow_ips,
            server_header=False,
            log_level="info",
        )
    finally:
        if shared is not None:  # every server process has exited: uvicorn joined them
            shutil.rmtree(shared, ignore_errors=True)
    interrupt.reset()  # SIGTERM/Ctrl-C is how a server is stopped: a graceful stop is success


def _metrics_dir(workers: int) -> Path | None:
    """With several server processes, a fresh directory for their shared metrics.

    Set here, before anything imports prometheus-client (it picks its mode on import).
    """
    if workers == 1:
        os.environ.pop(MULTIPROC_ENV, None)
        return None
    shared = Path(tempfile.mkdtemp(prefix="tidyllm-serve-metrics-"))
    os.environ[MULTIPROC_ENV] = str(shared)
    err_console.print(f"metrics of {workers} server processes are summed in {shared}")
    return shared
