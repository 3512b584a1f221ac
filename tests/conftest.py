"""Shared fixtures: real services, started once per test session.

Nothing here connects at import time. Each fixture starts a real server
process (PostgreSQL, moto S3, MLflow) the first time a test asks for it.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from services import EmbeddedPostgres, MlflowServer, MotoS3


@pytest.fixture(scope="session")
def services_root() -> Iterator[Path]:
    root = Path(tempfile.mkdtemp(prefix="tidyllm-test-services-"))
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres(services_root: Path) -> Iterator[EmbeddedPostgres]:
    """A real embedded PostgreSQL 18 server with pgvector for the whole session."""
    server = EmbeddedPostgres(services_root / "pg")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def moto_s3(services_root: Path) -> Iterator[MotoS3]:
    """moto's S3 server over HTTP in its own process."""
    server = MotoS3(services_root / "moto")
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def mlflow_server(services_root: Path) -> Iterator[MlflowServer]:
    """A real `mlflow server` process (SQLite backend)."""
    server = MlflowServer(services_root / "mlflow")
    server.start()
    yield server
    server.stop()
