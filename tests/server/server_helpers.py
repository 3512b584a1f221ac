"""Start and stop a real ``tidyllm serve`` process (here, not in conftest: importable)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

TIDYLLM = str(Path(sys.executable).with_name("tidyllm"))
STARTUP_BOUND = 180.0  # seconds without the server answering, while its process still runs


@dataclass
class Server:
    url: str
    process: subprocess.Popen
    log: Path
    data_dir: Path
    database_url: str

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=120)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_env(
    data_dir: Path, database_url: str, extra: Mapping[str, str] | None = None
) -> dict[str, str]:
    env = dict(os.environ)
    env["TIDYLLM_DATA_DIR"] = str(data_dir)
    env["TIDYLLM_DATABASE__URL"] = database_url
    env.update(extra or {})
    return env


def start_server(
    tmp: Path, database_url: str, *args: str, env: Mapping[str, str] | None = None
) -> Server:
    data_dir = tmp / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log = tmp / f"serve-{port}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [TIDYLLM, "serve", "--port", str(port), *args],
            env=server_env(data_dir, database_url, env),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server = Server(f"http://127.0.0.1:{port}", process, log, data_dir, database_url)
    wait_until_up(server)
    return server


def wait_until_up(server: Server) -> None:
    deadline = time.monotonic() + STARTUP_BOUND
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise AssertionError(f"tidyllm serve exited:\n{server.log.read_text()}")
        try:
            if httpx.get(server.url + "/healthz", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"tidyllm serve did not answer:\n{server.log.read_text()}")


def stop_server(server: Server) -> int:
    if server.process.poll() is None:
        server.process.send_signal(signal.SIGTERM)
        try:
            return server.process.wait(120)
        except subprocess.TimeoutExpired:
            server.process.kill()
            raise
    return server.process.returncode


@contextmanager
def serving(
    tmp: Path, database_url: str, *args: str, env: Mapping[str, str] | None = None
) -> Iterator[Server]:
    """A ``tidyllm serve`` (with ``args``, and ``env`` over the test's environment) on
    ``database_url`` until the block ends."""
    running = start_server(tmp, database_url, *args, env=env)
    try:
        yield running
    finally:
        stop_server(running)


@contextmanager
def session_manager(server: Server) -> Iterator[Any]:
    """A session manager in the test process on the server's database (to set up users)."""
    from tidyllm.session import UnifiedSessionManager

    with UnifiedSessionManager(
        data_dir=server.data_dir, database={"url": server.database_url}
    ) as sm:
        yield sm


def error_of(response: httpx.Response) -> dict[str, str]:
    """The body's one error object, after checking the body has exactly the error shape."""
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "hint"}, body
    return body["error"]


def index_pages(sm, domain: str, pages: Sequence[str]) -> None:
    """Create ``domain`` holding one text document ``mem://<domain>.txt`` with these pages."""
    from tidyllm.extraction import ExtractedDocument, Page
    from tidyllm.knowledge import create_domain
    from tidyllm.knowledge.indexing import index_document

    create_domain(sm, domain)
    index_document(
        sm,
        domain=domain,
        document=ExtractedDocument(
            mime="text/plain", pages=tuple(Page(i + 1, t) for i, t in enumerate(pages))
        ),
        source_uri=f"mem://{domain}.txt",
        version="1",
        content_hash=domain,
        title=f"{domain} report",
    )


def events_of(response: httpx.Response) -> list[tuple[str, dict]]:
    """The (event, data) pairs of a ``text/event-stream`` body, read as it arrives."""
    events, name, data = [], None, []
    for line in response.iter_lines():
        if line == "":
            if name is not None:
                events.append((name, json.loads("\n".join(data))))
            name, data = None, []
        elif line.startswith(":"):
            continue  # a keep-alive comment
        elif line.startswith("event: "):
            name = line.removeprefix("event: ")
        elif line.startswith("data: "):
            data.append(line.removeprefix("data: "))
    assert name is None and not data, "the stream ended inside an event"
    return events
