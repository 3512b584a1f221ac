"""A rotated database password reaches new connections without a restart.

The server here really checks passwords: a private embedded PostgreSQL whose
pg_hba.conf demands SCRAM for the `app` role.
"""

import pytest

from services import EmbeddedPostgres
from tidyllm import UnifiedSessionManager
from tidyllm.credentials import CredentialStore
from tidyllm.errors import ServiceUnavailable


@pytest.fixture(scope="module")
def password_postgres(services_root):
    server = EmbeddedPostgres(services_root / "scram-pg")
    hba = server.pgdata / "pg_hba.conf"
    hba.write_text("local all app scram-sha-256\n" + hba.read_text())
    server.restart()
    import psycopg

    with psycopg.connect(server.url, autocommit=True) as conn:
        conn.execute("CREATE ROLE app LOGIN SUPERUSER PASSWORD 'first-password'")
    yield server
    server.stop()


def test_rotated_password_is_used_by_new_connections(password_postgres, data_dir):
    store = CredentialStore(data_dir)
    store.set("db_password", "first-password")
    url = password_postgres.url.replace("postgresql://postgres:@", "postgresql://app@")
    with UnifiedSessionManager(
        data_dir=data_dir,
        database={"url": url, "password": "secret:db_password", "pool_min": 0, "pool_max": 2},
    ) as sm:
        assert sm.execute_postgres_query("SELECT current_user") == [("app",)]
        # Rotate: the server gets a new password, the store gets the same new value.
        sm.execute_postgres_query("ALTER ROLE app PASSWORD 'second-password'")
        store.set("db_password", "second-password")
        # Retire the open connections; the next query needs a new one, which fails
        # unless the pool resolves the secret again at connect time.
        pool = sm.db()
        for conn in [pool.getconn() for _ in range(2)]:
            conn.close()
            pool.putconn(conn)
        assert sm.execute_postgres_query("SELECT current_user") == [("app",)]
        assert pool.get_stats()["connections_num"] >= 3  # a third connection was really made


def test_wrong_password_is_a_clear_error(password_postgres, data_dir):
    CredentialStore(data_dir).set("db_password", "not-the-password")
    url = password_postgres.url.replace("postgresql://postgres:@", "postgresql://app@")
    with (
        UnifiedSessionManager(
            data_dir=data_dir, database={"url": url, "password": "secret:db_password"}
        ) as sm,
        pytest.raises(ServiceUnavailable, match="password authentication failed") as info,
    ):
        sm.db()
    assert "not-the-password" not in str(info.value)
