"""The API the migration map documents works as written, against real services."""

import inspect

import pytest
from mlflow.tracking import MlflowClient

from tidyllm import UnifiedSessionManager

# The migration map's list. If a method disappears or is renamed, this fails.
DOCUMENTED = {
    "get_s3_client": (),
    "execute_postgres_query": ("sql", "params"),
    "get_postgres_connection": (),
    "get_mlflow_client": (),
    "log_mlflow_experiment": ("params", "metrics", "artifacts", "tags"),
    "get_bedrock_client": (),
}


@pytest.mark.parametrize("name", sorted(DOCUMENTED))
def test_documented_method_exists_with_its_parameters(name):
    method = getattr(UnifiedSessionManager, name, None)
    assert callable(method), f"UnifiedSessionManager.{name} is documented but missing"
    assert method.__doc__, f"{name} has no docstring"
    params = inspect.signature(method).parameters
    for param in DOCUMENTED[name]:
        assert param in params, f"{name} lacks parameter {param}"


@pytest.fixture
def session_mgr(data_dir, database_url, s3_bucket, moto_s3, mlflow_server, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", moto_s3.url)
    with UnifiedSessionManager(
        data_dir=data_dir,
        database={"url": database_url},
        object_store={"bucket": s3_bucket},
        mlflow={"tracking_uri": mlflow_server.url},
    ) as manager:
        yield manager


def test_migration_map_example_runs_as_written(session_mgr, s3_bucket):
    s3_client = session_mgr.get_s3_client()
    s3_client.put_object(Bucket=s3_bucket, Key="hello.txt", Body=b"hi")
    assert s3_client.get_object(Bucket=s3_bucket, Key="hello.txt")["Body"].read() == b"hi"
    assert session_mgr.get_s3_client() is s3_client  # one shared client

    rows = session_mgr.execute_postgres_query("SELECT %s::int + %s::int", (2, 3))
    assert rows == [(5,)]

    with session_mgr.get_postgres_connection() as conn:
        assert conn.execute("SELECT current_database()").fetchone()[0].startswith("t_")


def test_object_store_uses_the_same_bucket(session_mgr, s3_bucket):
    store = session_mgr.object_store()
    store.put("docs/a.txt", b"abc")
    head = session_mgr.get_s3_client().head_object(Bucket=s3_bucket, Key="docs/a.txt")
    assert head["ContentLength"] == 3


def test_log_mlflow_experiment_reaches_the_server(session_mgr, mlflow_server):
    record = session_mgr.log_mlflow_experiment(
        params={"zone": "contracts"},
        metrics={"files_done": 3.0},
        artifacts={"report.md": "# report"},
        tags={"team": "docs"},
    )
    assert record.run_id and not record.buffered
    client = session_mgr.get_mlflow_client()
    assert isinstance(client, MlflowClient)
    run = MlflowClient(tracking_uri=mlflow_server.url).get_run(record.run_id)
    assert run.data.params == {"zone": "contracts"}
    assert run.data.metrics == {"files_done": 3.0}
    assert run.data.tags["team"] == "docs"


def test_log_mlflow_experiment_to_the_local_default_store(data_dir, database_url):
    with UnifiedSessionManager(data_dir=data_dir, database={"url": database_url}) as sm:
        record = sm.log_mlflow_experiment(params={"p": "1"}, metrics={"m": 2.0})
        assert record.run_id and not record.buffered
        assert sm.get_mlflow_client().get_run(record.run_id).data.metrics == {"m": 2.0}
    assert (data_dir / "mlflow" / "mlflow.db").exists()


def test_get_bedrock_client_is_a_bedrock_runtime_client(session_mgr):
    client = session_mgr.get_bedrock_client()
    assert client.meta.service_model.service_name == "bedrock-runtime"
    assert session_mgr.get_bedrock_client() is client
