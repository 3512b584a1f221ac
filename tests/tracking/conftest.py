"""Fixtures for the tracking tests: real MLflow stores and a planted canary secret."""

from __future__ import annotations

import secrets
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient
from tracking_helpers import sqlite_uri

from services import free_port
from tidyllm.redaction import register_secret


@pytest.fixture(scope="session")
def sqlite_data_dir() -> Iterator[Path]:
    """A data dir with the embedded-default local store, created once (migrations take seconds)."""
    root = Path(tempfile.mkdtemp(prefix="tidyllm-test-tracking-"))
    data_dir = root / "data"
    (data_dir / "mlflow").mkdir(parents=True)
    MlflowClient(tracking_uri=sqlite_uri(data_dir)).search_experiments(max_results=1)
    yield data_dir
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def dead_url() -> str:
    """An HTTP URL on which nothing listens: a real 'connection refused' outage."""
    return f"http://127.0.0.1:{free_port()}"


@pytest.fixture
def canary() -> str:
    """A fresh secret, registered for redaction, that must never show up anywhere."""
    value = f"canary-{secrets.token_hex(12)}"
    register_secret(value)
    return value


@pytest.fixture
def experiment(request: pytest.FixtureRequest) -> str:
    """A fresh experiment name per test, so tests sharing a server do not see each other."""
    return f"test-{request.node.name[:60]}-{secrets.token_hex(4)}"
