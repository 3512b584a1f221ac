"""`tidyllm doctor` against real services: embedded defaults, S3 on moto, an MLflow server."""

import json

import pytest

from services import MotoS3


def by_service(output: str) -> dict[str, dict]:
    return {r["service"]: r for r in json.loads(output)}


def test_doctor_on_fresh_embedded_defaults(cli, embedded_data_dir, monkeypatch):
    """The main job before drop zones land: doctor on a fresh data directory, then again."""
    monkeypatch.setenv("TIDYLLM_DATA_DIR", str(embedded_data_dir))
    first = cli("doctor")
    assert first.exit_code == 0, first.output
    for name in ("object store", "database", "mlflow", "embedder"):
        assert name in first.stdout
    result = cli("doctor", "--json")
    assert result.exit_code == 0, result.output
    services = by_service(result.stdout)
    assert services["database"]["ok"] and "pgvector 0.8" in services["database"]["detail"]
    assert services["database"]["source"].startswith("embedded")
    assert services["object store"]["ok"]
    assert services["mlflow"]["ok"]
    assert services["embedder"]["ok"] and "384-d" in services["embedder"]["detail"]
    assert services["llm"]["configured"] is False


def test_doctor_with_s3_and_mlflow_server(
    cli, s3_bucket, moto_s3, mlflow_server, database_url, data_dir, monkeypatch
):
    monkeypatch.setenv("TIDYLLM_DATA_DIR", str(data_dir))
    monkeypatch.setenv("TIDYLLM_OBJECT_STORE__BUCKET", s3_bucket)
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", moto_s3.url)
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server.url)
    result = cli("doctor", "--json")
    assert result.exit_code == 0, result.output
    services = by_service(result.stdout)
    assert services["object store"]["source"] == "AWS credentials: env"
    assert services["database"]["source"] == "URL from env DATABASE_URL"
    assert services["mlflow"]["ok"], services["mlflow"]


@pytest.fixture
def private_moto(services_root):
    """An S3 server of our own, so stopping it disturbs no other test."""
    server = MotoS3(services_root / "moto-private")
    server.start()
    yield server
    server.stop()


def test_doctor_reports_s3_down_and_still_reports_the_rest(
    cli, private_moto, database_url, data_dir, monkeypatch
):
    import boto3

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing-secret")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    boto3.client("s3", endpoint_url=private_moto.url).create_bucket(Bucket="docs")
    monkeypatch.setenv("TIDYLLM_DATA_DIR", str(data_dir))
    monkeypatch.setenv("TIDYLLM_OBJECT_STORE__BUCKET", "docs")
    monkeypatch.setenv("TIDYLLM_OBJECT_STORE__MAX_ATTEMPTS", "1")
    monkeypatch.setenv("TIDYLLM_OBJECT_STORE__CONNECT_TIMEOUT", "1")
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", private_moto.url)
    monkeypatch.setenv("DATABASE_URL", database_url)
    private_moto.stop()
    result = cli("doctor", "--json")
    assert result.exit_code == 1
    services = by_service(result.stdout)
    assert services["object store"]["ok"] is False
    assert "unavailable" in services["object store"]["detail"].lower()
    assert services["database"]["ok"] is True  # the others are still probed and reported
    assert services["mlflow"]["ok"] is True


def test_doctor_reports_missing_bucket(cli, moto_s3, database_url, data_dir, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing-secret")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("TIDYLLM_DATA_DIR", str(data_dir))
    monkeypatch.setenv("TIDYLLM_OBJECT_STORE__BUCKET", "no-such-bucket")
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", moto_s3.url)
    monkeypatch.setenv("DATABASE_URL", database_url)
    result = cli("doctor", "--json")
    assert result.exit_code == 1
    assert by_service(result.stdout)["object store"]["ok"] is False


def test_doctor_reports_database_down(cli, data_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("TIDYLLM_DATA_DIR", str(data_dir))
    monkeypatch.setenv("DATABASE_URL", f"postgresql://postgres@/postgres?host={tmp_path}")
    result = cli("doctor", "--json")
    assert result.exit_code == 1
    database = by_service(result.stdout)["database"]
    assert database["ok"] is False and "PostgreSQL is unavailable" in database["detail"]


def test_doctor_reports_mlflow_down_with_buffered_runs(cli, database_url, data_dir, monkeypatch):
    from services import free_port
    from tidyllm import UnifiedSessionManager

    monkeypatch.setenv("TIDYLLM_DATA_DIR", str(data_dir))
    monkeypatch.setenv("DATABASE_URL", database_url)
    # A real refused connection: nothing listens on this port.
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"http://127.0.0.1:{free_port()}")
    with UnifiedSessionManager() as sm:
        record = sm.log_mlflow_experiment(params={"a": "1"}, metrics={"m": 1.0})
    assert record.buffered and record.run_id is None
    result = cli("doctor", "--json")
    assert result.exit_code == 1
    mlflow = by_service(result.stdout)["mlflow"]
    assert mlflow["ok"] is False and "1 run(s) buffered" in mlflow["detail"]


def test_doctor_names_routing_rules_to_missing_domains(
    cli, database_url, data_dir, tmp_path, monkeypatch
):
    """Users never see a rule to a missing domain (it is skipped), so doctor tells the
    operator; the command its message suggests, run as printed, mends it."""
    config = tmp_path / "tidyllm.yaml"
    config.write_text(
        "upload:\n"
        "  routes:\n"
        "    - {name: pdfs, match: {type: application/pdf}, domain: reports}\n"
        "    - {name: ghost, match: {name: '*.txt'}, domain: no-such-domain}\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("TIDYLLM_DATA_DIR", str(data_dir))
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("TIDYLLM_CONFIG", str(config))
    assert cli("domains", "create", "reports").exit_code == 0
    result = cli("doctor", "--json")
    assert result.exit_code == 1, result.output
    routing = by_service(result.stdout)["upload routing"]
    assert routing["ok"] is False and routing["configured"] is True
    assert "ghost -> no-such-domain" in routing["detail"]
    assert "reports" not in routing["detail"].replace("domains create", "")
    hint = routing["detail"].split("`")[1].replace("NAME", "no-such-domain")
    assert hint == "tidyllm domains create no-such-domain"
    assert cli(*hint.split()[1:]).exit_code == 0
    again = by_service(cli("doctor", "--json").stdout)["upload routing"]
    assert again["ok"] is True, again
    assert again["detail"] == "2 rule(s), every domain they name exists"
    assert str(config) in again["source"]
