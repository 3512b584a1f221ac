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

from services import EmbeddedPostgres, MlflowServer, MotoS3, fresh_database


def pytest_configure(config: pytest.Config) -> None:
    """Session-wide environment, set before any service starts (session fixtures come first).

    boto3 must never probe an instance-metadata address on a machine with no cloud: the
    README's test command then needs no variables of its own (``.ci/run`` sets it too).
    """
    import os

    os.environ["AWS_EC2_METADATA_DISABLED"] = "true"


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


_ENV_PREFIXES = ("TIDYLLM_", "AWS_", "MLFLOW_", "DATABASE_URL", "PG")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Every test starts with no TidyLLM/AWS/MLflow settings and no ./tidyllm.yaml.

    AWS_EC2_METADATA_DISABLED keeps boto3 from ever probing an instance-metadata
    address on this machine; the null keyring keeps master keys out of the real one.
    """
    import os

    for name in list(os.environ):
        if name.startswith(_ENV_PREFIXES):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    # Tests send buffered runs and traces with an explicit flush; a detached flush process
    # per test data directory would only load the machine (tests/tracking covers it).
    monkeypatch.setenv("TIDYLLM_MLFLOW__BACKGROUND_FLUSH", "false")
    # Never the developer's real keyring; the keyring tests choose a backend of their own.
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.chdir(tmp_path)


@pytest.fixture(autouse=True)
def isolated_secret_registry() -> Iterator[None]:
    """Secrets registered by one test must not mask words in the next test's output.

    The registry is process-wide by design (a secret seen once is masked
    everywhere); tests restore it so their results do not depend on order.
    """
    from tidyllm import redaction

    saved = redaction._secrets
    yield
    redaction._secrets = saved


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A fresh data directory for one test."""
    path = tmp_path / "data"
    path.mkdir()
    return path


@pytest.fixture
def database_url(postgres: EmbeddedPostgres) -> Iterator[str]:
    """A fresh, empty database on the shared server, dropped after the test."""
    with fresh_database(postgres, "t") as url:
        yield url


@pytest.fixture
def sm(data_dir: Path, database_url: str):
    """A session manager on a fresh, migrated database (embedded defaults otherwise)."""
    from tidyllm.session import UnifiedSessionManager

    with UnifiedSessionManager(data_dir=data_dir, database={"url": database_url}) as manager:
        yield manager


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, data_dir: Path, database_url: str) -> str:
    """Environment for in-process CLI runs against the fresh database."""
    monkeypatch.setenv("TIDYLLM_DATA_DIR", str(data_dir))
    monkeypatch.setenv("TIDYLLM_DATABASE__URL", database_url)
    return database_url


@pytest.fixture(scope="module")
def module_database(postgres: EmbeddedPostgres) -> Iterator[str]:
    """A fresh database shared by the tests of one module (dropped afterwards)."""
    with fresh_database(postgres, "m") as url:
        yield url


@pytest.fixture
def debug_log(tmp_path: Path) -> Iterator[Path]:
    """Everything logged at DEBUG, through a real file handler on the root logger."""
    import logging

    path = tmp_path / "debug.log"
    handler = logging.FileHandler(path)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield path
    root.removeHandler(handler)
    handler.close()
    root.setLevel(old_level)


@pytest.fixture
def s3_bucket(moto_s3: MotoS3, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh bucket on the moto server; AWS credentials for it come from the environment."""
    import uuid

    import boto3

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing-secret")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    name = f"b-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=moto_s3.url, region_name="us-east-1").create_bucket(Bucket=name)
    return name


@pytest.fixture
def embedded_data_dir() -> Iterator[Path]:
    """A fresh data directory for tests that run the embedded PostgreSQL default.

    Made with mkdtemp, not under pytest's 0700 tmp_path, because the embedded
    server runs as its own user and must traverse the parents. The server is
    stopped afterwards.
    """
    from tidyllm.db import stop_embedded

    root = Path(tempfile.mkdtemp(prefix="tidyllm-test-data-"))
    yield root
    stop_embedded(root)
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def cli():
    """Invoke the real `tidyllm` Typer app in-process; returns the click Result."""
    from typer.testing import CliRunner

    from tidyllm.cli.main import app

    runner = CliRunner()

    def invoke(*args: str, input: str | None = None):
        return runner.invoke(app, list(args), input=input, catch_exceptions=False)

    return invoke


SAMPLE_PATENT = Path(__file__).resolve().parents[1] / "samples" / "us-patent-12290739.pdf"


@pytest.fixture
def scanned_page(tmp_path: Path) -> Path:
    """The patent's first scanned page, cropped to its header (OCR in seconds, not minutes)."""
    import pypdf

    writer = pypdf.PdfWriter()
    page = writer.add_page(pypdf.PdfReader(SAMPLE_PATENT).pages[0])
    x0, y0, x1, y1 = (float(v) for v in page.mediabox)
    page.cropbox = pypdf.generic.RectangleObject([x0, y1 - (y1 - y0) / 4, x1, y1])
    out = tmp_path / "scans" / "patent-header.pdf"
    out.parent.mkdir()
    writer.write(out)
    return out
