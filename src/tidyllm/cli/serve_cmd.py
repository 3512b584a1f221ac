"""``tidyllm serve``: the REST API (and later the web UI) on uvicorn.

Loopback by default. Binding to another address without TLS prints a warning:
tokens and passwords would cross the network in clear text.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import Annotated

import typer

from tidyllm import interrupt
from tidyllm.cli.output import err_console
from tidyllm.errors import SettingsError

LOOPBACK_NAMES = {"localhost"}
GRACEFUL_SECONDS = 30


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
    interrupt.reset()  # SIGTERM/Ctrl-C is how a server is stopped: a graceful stop is success
