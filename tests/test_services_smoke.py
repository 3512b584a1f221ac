import psycopg


def test_postgres_has_pgvector(postgres):
    with psycopg.connect(postgres.url) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        (version,) = conn.execute(
            "SELECT extversion FROM pg_extension WHERE extname = 'vector'"
        ).fetchone()
    assert version.startswith("0.8")


def test_mlflow_server_answers(mlflow_server):
    import urllib.request

    with urllib.request.urlopen(mlflow_server.url + "/health") as resp:  # noqa: S310 - http loopback
        assert resp.status == 200
