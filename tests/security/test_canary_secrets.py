"""Canary secrets, supplied through every source, never appear in any output.

Planted: a database password (environment, credential store, inside
DATABASE_URL), an AWS secret key (environment, read by boto3's chain) and an
API key (environment). Searched: DEBUG logs (records and a log file),
exception messages and tracebacks, reprs, `config show`, `doctor`, MLflow
params and tags read back from a real server, and every file under the data
directory.
"""

from __future__ import annotations

import logging
import traceback
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from tidyllm import UnifiedSessionManager
from tidyllm.credentials import CredentialStore
from tidyllm.errors import TidyLLMError
from tidyllm.settings import load_settings

DB_PASSWORD = "canaryDbPw-8c1f0e"
STORE_PASSWORD = "canaryStorePw-2b7d4a"
AWS_SECRET = "canaryAwsSecret-5e9a31"
API_KEY = "canaryApiKey-71c3d9"
CANARIES = (DB_PASSWORD, STORE_PASSWORD, AWS_SECRET, API_KEY)


def assert_clean(text: str, where: str) -> None:
    for canary in CANARIES:
        assert canary not in text, f"canary secret leaked into {where}"


@pytest.fixture
def canary_env(monkeypatch, data_dir, database_url, s3_bucket, moto_s3, mlflow_server):
    """Settings where every secret is a canary, each through a different source."""
    monkeypatch.setenv("TIDYLLM_DATA_DIR", str(data_dir))
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", AWS_SECRET)  # boto3's chain reads it
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", moto_s3.url)
    monkeypatch.setenv("TIDYLLM_OBJECT_STORE__BUCKET", s3_bucket)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server.url)
    # The embedded server trusts local connections, so any password is accepted.
    user_url = database_url.replace(
        "postgresql://postgres:@", f"postgresql://postgres:{DB_PASSWORD}@"
    )
    monkeypatch.setenv("DATABASE_URL", user_url)
    monkeypatch.setenv("TIDYLLM_LLM__PROVIDER", "openai")
    monkeypatch.setenv("TIDYLLM_LLM__ENDPOINT", "http://127.0.0.1:9/v1")  # nothing listens
    monkeypatch.setenv("TIDYLLM_LLM__API_KEY", API_KEY)
    CredentialStore(data_dir).set("db_password", STORE_PASSWORD)
    monkeypatch.setenv("TIDYLLM_DATABASE__PASSWORD", "secret:db_password")
    return data_dir


def test_no_canary_anywhere(canary_env, debug_log, caplog, cli, mlflow_server, capfd):
    caplog.set_level(logging.DEBUG)
    data_dir = canary_env

    shown = cli("config", "show")
    assert_clean(shown.output, "config show")
    doctor = cli("doctor")
    assert_clean(doctor.output, "doctor")
    assert "llm" in doctor.output  # the LLM probe ran (and failed, nothing listens)

    with UnifiedSessionManager() as sm:
        assert sm.execute_postgres_query("SELECT 1") == [(1,)]
        sm.object_store().put("a.txt", b"hello")
        record = sm.log_mlflow_experiment(
            params={"dsn": sm.settings.database.url, "note": f"key={API_KEY}"},
            tags={"aws": AWS_SECRET, "pw": STORE_PASSWORD},
            metrics={"m": 1.0},
            artifacts={"leak.txt": f"{DB_PASSWORD} {AWS_SECRET}"},
            run_name="canary",
        )
        assert_clean(repr(sm), "repr(manager)")
        assert_clean(repr(sm.settings), "repr(settings)")
        assert_clean(repr(load_settings()), "repr(loaded settings)")
        with pytest.raises(TidyLLMError) as info:
            sm.execute_postgres_query("SELECT * FROM missing_table_for_canary")
        assert_clean(str(info.value), "exception message")
        assert_clean("".join(traceback.format_exception(info.value)), "traceback")
        logging.getLogger("tidyllm.test").exception("boom", exc_info=info.value)

    assert record.run_id is not None and not record.buffered
    run = MlflowClient(tracking_uri=mlflow_server.url).get_run(record.run_id)
    assert_clean(repr(run.data.params), "MLflow params")
    assert_clean(repr(run.data.tags), "MLflow tags")
    artifact_dir = MlflowClient(tracking_uri=mlflow_server.url).download_artifacts(
        record.run_id, "", str(data_dir.parent / "downloaded")
    )
    for path in Path(artifact_dir).rglob("*"):
        if path.is_file():
            assert_clean(path.read_text(errors="replace"), f"MLflow artifact {path.name}")

    assert_clean(caplog.text, "log records")
    assert_clean(debug_log.read_text(errors="replace"), "DEBUG log file")
    out, err = capfd.readouterr()
    assert_clean(out + err, "process stdout/stderr")

    for path in data_dir.rglob("*"):
        if path.is_file() and path.name != "credentials.enc":
            assert_clean(path.read_bytes().decode("latin-1"), f"file {path}")
    # The store itself is encrypted: the canary is not in it as plain text either.
    assert STORE_PASSWORD.encode() not in (data_dir / "credentials.enc").read_bytes()


def test_bad_database_url_error_hides_password(monkeypatch, data_dir):
    url = f"postgresql://u:{DB_PASSWORD}@host:notaport/db"
    with pytest.raises(TidyLLMError) as info:
        UnifiedSessionManager(data_dir=data_dir, database={"url": url}).db()
    assert "malformed" in str(info.value)
    assert_clean(str(info.value), "malformed URL error")
    assert_clean("".join(traceback.format_exception(info.value)), "malformed URL traceback")


def test_unreachable_database_error_hides_password(data_dir, tmp_path):
    url = f"postgresql://u:{DB_PASSWORD}@/db?host={tmp_path}"
    with pytest.raises(TidyLLMError) as info:
        UnifiedSessionManager(data_dir=data_dir, database={"url": url}).db()
    assert_clean("".join(traceback.format_exception(info.value)), "connect-error traceback")
