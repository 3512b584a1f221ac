"""Make the test suite's real-service helpers importable from benchmarks."""

import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "server"))

from server_helpers import Server, start_server, stop_server

from services import EmbeddedPostgres, MlflowServer, MotoS3, fresh_database


@contextmanager
def private_database(prefix: str) -> Iterator[tuple[Path, str]]:
    """A throw-away folder with its own PostgreSQL server and an empty database: (root, url)."""
    root = Path(tempfile.mkdtemp(prefix=prefix))
    server = EmbeddedPostgres(root / "pg")
    try:
        with fresh_database(server, "bench") as url:
            yield root, url
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


__all__ = [
    "EmbeddedPostgres",
    "MlflowServer",
    "MotoS3",
    "Server",
    "fresh_database",
    "private_database",
    "start_server",
    "stop_server",
]
