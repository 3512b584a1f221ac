"""Canary secrets never leak out of the drop-zone engine.

Planted, each through its own source: a database password in the encrypted
credential store (``TIDYLLM_DATABASE__PASSWORD=secret:NAME``) and another in
DATABASE_URL, an AWS secret key in AWS_SECRET_ACCESS_KEY (read by boto3 for an
S3 zone on moto), an LLM API key in TIDYLLM_LLM__API_KEY. A local and an S3 zone
each get a file that succeeds and a corrupt PDF that fails; the real CLI drops
and runs the worker with MLflow tracking on. Searched: every row of every table
in the database (the ledger's ``files``, ``events``, ``file_contents`` and the
rest, all columns as JSON), every file the zones hold (``.error.json`` sidecars
and reports in processed/ and failed/, local and S3), every file under the data
directory, the MLflow runs' params, tags and artifacts, DEBUG logs (records and
a file handler on the root logger), captured stdout/stderr, and the output of
``zones status`` and ``zones history`` (text and JSON).
"""

from __future__ import annotations

import json
import logging

import pytest
import yaml
from dropzone_helpers import tree
from mlflow.tracking import MlflowClient
from psycopg import sql

from tidyllm.credentials import CredentialStore
from tidyllm.session import UnifiedSessionManager

STORE_PASSWORD = "dzCanaryStorePw-4f2a91"
URL_PASSWORD = "dzCanaryUrlPw-0b77e3"
AWS_SECRET = "dzCanaryAwsSecret-93d1c5"
API_KEY = "dzCanaryApiKey-6a0e28"
CANARIES = (STORE_PASSWORD, URL_PASSWORD, AWS_SECRET, API_KEY)
CORRUPT_PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 2 0 R >>\nthis is not a pdf body\n"


def assert_clean(data: str | bytes, where: str) -> None:
    """No canary in ``data``, neither as text nor hex-encoded (how bytea columns render)."""
    text = data.decode("latin-1") if isinstance(data, bytes) else data
    for canary in CANARIES:
        assert canary not in text, f"canary secret leaked into {where}"
        assert canary.encode().hex() not in text.lower(), f"canary (hex) leaked into {where}"


@pytest.fixture
def canary_zones(monkeypatch, tmp_path, data_dir, database_url, s3_bucket, moto_s3, mlflow_server):
    """Settings (environment + settings file) with two zones and a canary in every secret."""
    local_root = tmp_path / "local-zone"
    (local_root / "incoming").mkdir(parents=True)
    zones = [
        {"name": "loc", "source": str(local_root), "pipeline": "extract", "quiet_period": 0.0},
        {"name": "cloud", "source": f"s3://{s3_bucket}/zone/", "pipeline": "extract"},
    ]
    config = tmp_path / "tidyllm.yaml"
    config.write_text(yaml.safe_dump({"zones": zones}))
    monkeypatch.setenv("TIDYLLM_CONFIG", str(config))
    monkeypatch.setenv("TIDYLLM_DATA_DIR", str(data_dir))
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", AWS_SECRET)  # boto3's chain reads it
    monkeypatch.setenv("TIDYLLM_OBJECT_STORE__ENDPOINT_URL", moto_s3.url)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server.url)
    # The embedded server trusts local connections, so any password is accepted.
    monkeypatch.setenv(
        "DATABASE_URL",
        database_url.replace("postgresql://postgres:@", f"postgresql://postgres:{URL_PASSWORD}@"),
    )
    CredentialStore(data_dir).set("dz_db_password", STORE_PASSWORD)
    monkeypatch.setenv("TIDYLLM_DATABASE__PASSWORD", "secret:dz_db_password")
    monkeypatch.setenv("TIDYLLM_LLM__PROVIDER", "openai")
    monkeypatch.setenv("TIDYLLM_LLM__ENDPOINT", "http://127.0.0.1:9/v1")  # nothing listens
    monkeypatch.setenv("TIDYLLM_LLM__API_KEY", API_KEY)
    return local_root, s3_bucket


def _all_table_rows(sm) -> dict[str, list[str]]:
    """Every row of every table in the public schema, as JSON text."""
    out = {}
    with sm.connection() as conn:
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1"
            )
        ]
        for table in tables:
            query = sql.SQL("SELECT row_to_json(t)::text FROM {} t").format(sql.Identifier(table))
            out[table] = [r[0] for r in conn.execute(query)]
    return out


def test_no_canary_in_any_drop_zone_output(
    canary_zones, cli, debug_log, caplog, capfd, tmp_path, data_dir, mlflow_server
):
    caplog.set_level(logging.DEBUG)
    local_root, bucket = canary_zones
    (local_root / "incoming" / "good.txt").write_text("A plain note that extracts fine.")
    (local_root / "incoming" / "broken.pdf").write_bytes(CORRUPT_PDF)
    (tmp_path / "cloud-good.md").write_text("# Cloud\n\nThis one is fine too.\n")
    (tmp_path / "cloud-broken.pdf").write_bytes(CORRUPT_PDF)

    outputs = {}
    outputs["drop"] = cli(
        "drop", str(tmp_path / "cloud-good.md"), str(tmp_path / "cloud-broken.pdf"), "-z", "cloud"
    )
    outputs["worker"] = cli("-v", "worker", "--once")  # -v: DEBUG records to search too
    outputs["tracking flush"] = cli("tracking", "flush")  # the batch runs reach MLflow
    outputs["status"] = cli("zones", "status")
    outputs["status loc"] = cli("zones", "status", "loc")
    for ref in ("good.txt", "broken.pdf", "cloud-broken.pdf", "1"):
        outputs[f"history {ref}"] = cli("zones", "history", ref)
        outputs[f"history {ref} --json"] = cli("zones", "history", ref, "--json")
    for name, result in outputs.items():
        assert result.exit_code == 0, (name, result.output)
        assert_clean(result.output, f"CLI `{name}` output")

    with UnifiedSessionManager() as sm:
        tables = _all_table_rows(sm)
        s3 = sm.s3_client()
        s3_objects = {
            o["Key"]: s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read()
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
            for o in page.get("Contents", [])
        }

    # the run really did what the canaries are searched in: both outcomes in both zones
    files = [json.loads(r) for r in tables["files"]]
    assert sorted((f["zone"], f["state"]) for f in files) == [
        ("cloud", "done"),
        ("cloud", "failed"),
        ("loc", "done"),
        ("loc", "failed"),
    ]
    assert len(tables["events"]) >= 4 * 3  # detected, claimed, finished ... per file
    for table, table_rows in tables.items():
        for row in table_rows:
            assert_clean(row, f"table {table}")

    local_files = tree(local_root)
    assert local_files["incoming"] == []
    assert any(n.endswith(".error.json") for n in local_files["failed"])
    assert any(n.endswith(".report.json") for n in local_files["processed"])
    for path in local_root.rglob("*"):
        if path.is_file():
            assert_clean(path.read_bytes(), f"local zone file {path.name}")
    assert any(k.startswith("zone/failed/") and k.endswith(".error.json") for k in s3_objects)
    assert any(k.startswith("zone/processed/") and k.endswith(".report.md") for k in s3_objects)
    for key, body in s3_objects.items():
        assert_clean(key, "S3 key")
        assert_clean(body, f"S3 object {key}")
    error = json.loads(next(v for k, v in s3_objects.items() if k.endswith(".error.json")))
    assert error["error"] and error["message"]

    run_ids = {f["mlflow_run_id"] for f in files}
    assert None not in run_ids and len(run_ids) == 2  # one batch run per zone
    client = MlflowClient(tracking_uri=mlflow_server.url)
    for run_id in run_ids:
        run = client.get_run(run_id)
        assert run.data.params["zone"] in {"loc", "cloud"}
        assert_clean(repr(run.data.params), "MLflow params")
        assert_clean(repr(run.data.tags), "MLflow tags")
        assert_clean(repr(run.data.metrics), "MLflow metrics")
        artifacts = client.download_artifacts(run_id, "", str(tmp_path / "artifacts" / run_id))
        downloaded = [p for p in (tmp_path / "artifacts" / run_id).rglob("*") if p.is_file()]
        assert downloaded, artifacts
        for path in downloaded:
            assert_clean(path.read_bytes(), f"MLflow artifact {path.name}")

    for path in data_dir.rglob("*"):
        if path.is_file() and path.name != "credentials.enc":
            assert_clean(path.read_bytes(), f"data file {path}")
    assert STORE_PASSWORD.encode() not in (data_dir / "credentials.enc").read_bytes()

    assert caplog.records  # the worker did log at DEBUG/INFO/WARNING
    assert_clean(caplog.text, "log records")
    for record in caplog.records:
        assert_clean(repr(record.args), "log record args")
    assert_clean(debug_log.read_bytes(), "DEBUG log file")
    out, err = capfd.readouterr()
    assert_clean(out + err, "process stdout/stderr")
