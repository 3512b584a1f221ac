"""The manager's PostgreSQL pool against a real server: migrations, threads, restarts, fork."""

import multiprocessing
import random
import threading
import time

import pytest

from services import EmbeddedPostgres
from tidyllm import UnifiedSessionManager
from tidyllm.db import available_migrations
from tidyllm.errors import DatabaseError, ServiceUnavailable, TidyLLMError


def assert_no_leaks(pool) -> None:
    """Every connection can be checked out at once: none was leaked by earlier work."""
    conns = [pool.getconn(timeout=10) for _ in range(pool.max_size)]
    for conn in conns:
        pool.putconn(conn)


@pytest.fixture
def sm(database_url, data_dir):
    with UnifiedSessionManager(data_dir=data_dir, database={"url": database_url}) as manager:
        yield manager


def test_migrations_are_applied_and_recorded(sm):
    rows = sm.execute_postgres_query("SELECT version, name FROM tidyllm_migrations ORDER BY 1")
    assert [r[0] for r in rows] == [m.version for m in available_migrations()]
    (ext,) = sm.execute_postgres_query("SELECT extname FROM pg_extension WHERE extname='vector'")
    assert ext == ("vector",)


def test_concurrent_managers_migrate_once(database_url, data_dir):
    """Many processes starting at once: the advisory lock lets exactly one apply each file."""
    errors = []

    def start():
        try:
            with UnifiedSessionManager(data_dir=data_dir, database={"url": database_url}) as m:
                m.db()
        except Exception as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with UnifiedSessionManager(data_dir=data_dir, database={"url": database_url}) as m:
        (count,) = m.execute_postgres_query("SELECT count(*) FROM tidyllm_migrations")[0]
    assert count == len(available_migrations())


def test_execute_postgres_query_is_parameterised(sm):
    hostile = "'; DROP TABLE tidyllm_migrations; --"
    assert sm.execute_postgres_query("SELECT %s::text", (hostile,)) == [(hostile,)]
    assert sm.execute_postgres_query("SELECT count(*) FROM tidyllm_migrations")[0][0] >= 1


def test_statement_without_rows_returns_empty_list(sm):
    assert sm.execute_postgres_query("CREATE TEMP TABLE t (x int)") == []


def test_sql_error_is_wrapped_and_connection_returned(sm):
    with pytest.raises(DatabaseError, match="query failed"):
        sm.execute_postgres_query("SELECT * FROM no_such_table")
    assert_no_leaks(sm.db())


def test_get_postgres_connection_returns_to_pool(sm):
    pool = sm.db()
    with sm.get_postgres_connection() as conn:
        assert conn.execute("SELECT 41 + 1").fetchone() == (42,)
        held = []
        with pytest.raises(Exception, match="couldn't get a connection"):
            for _ in range(pool.max_size):  # one is checked out above: the last must time out
                held.append(pool.getconn(timeout=0.5))
        for extra in held:
            pool.putconn(extra)
    assert_no_leaks(pool)


@pytest.mark.slow
def test_32_threads_1000_checkouts_with_random_exceptions(sm):
    pool = sm.db()
    failures = []

    class Planned(Exception):
        """Raised on purpose inside a checkout."""

    def work(seed: int) -> None:
        rng = random.Random(seed)
        for _ in range(1000):
            try:
                with sm.connection() as conn:
                    if rng.random() < 0.2:
                        raise Planned
                    conn.execute("SELECT 1")
            except Planned:
                continue
            except Exception as exc:  # anything else is a bug: collect it
                failures.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(32)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stats = pool.get_stats()
    print(f"pool stats after 32,000 checkouts: {stats}")
    assert failures == []
    assert_no_leaks(pool)  # every connection came back
    assert stats["requests_num"] >= 32_000
    with sm.connection() as conn:  # and the pool still works
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_lazy_and_thread_safe_creation(sm):
    assert "pool" not in sm._cache
    pools = []
    barrier = threading.Barrier(8)

    def grab():
        barrier.wait()
        pools.append(sm.db())

    threads = [threading.Thread(target=grab) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({id(p) for p in pools}) == 1


def _child_query(sm, queue):
    try:
        queue.put(("ok", sm.execute_postgres_query("SELECT pg_backend_pid()")[0][0], id(sm.db())))
    except Exception as exc:  # reported to the parent
        queue.put(("error", repr(exc), 0))


def test_forked_child_gets_fresh_clients(sm):
    parent_pid_backend = sm.execute_postgres_query("SELECT pg_backend_pid()")[0][0]
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    proc = ctx.Process(target=_child_query, args=(sm, queue))
    proc.start()
    status, backend, _ = queue.get(timeout=60)
    proc.join(30)
    assert status == "ok", backend
    assert proc.exitcode == 0
    assert backend != parent_pid_backend  # the child opened its own connection
    assert sm.execute_postgres_query("SELECT 1") == [(1,)]  # the parent's pool is intact


def test_close_is_idempotent_and_final(sm):
    pool = sm.db()
    sm.close()
    sm.close()
    assert pool.closed
    with pytest.raises(TidyLLMError, match="closed"):
        sm.db()


@pytest.fixture(scope="module")
def private_postgres(services_root):
    """A server of its own, so restarting it disturbs no other test.

    It lives under services_root, not pytest's tmp_path: pytest keeps its base
    folder at mode 0700, which the server's own user could not traverse.
    """
    server = EmbeddedPostgres(services_root / "restart-pg")
    yield server
    server.stop()


def test_postgres_restart_is_survived(private_postgres, data_dir):
    with UnifiedSessionManager(
        data_dir=data_dir, database={"url": private_postgres.url, "pool_timeout": 5}
    ) as sm:
        assert sm.execute_postgres_query("SELECT 1") == [(1,)]
        private_postgres.restart()
        started = time.monotonic()
        # The first query after the restart must succeed: the pool checks connections on
        # checkout and replaces the dead ones (pool_timeout=5 bounds the wait).
        assert sm.execute_postgres_query("SELECT 2") == [(2,)]
        print(f"first query after restart took {time.monotonic() - started:.2f}s")
        assert_no_leaks(sm.db())


def test_database_down_is_a_clear_error(data_dir, tmp_path):
    url = f"postgresql://postgres@/postgres?host={tmp_path}&port=1"
    with (
        UnifiedSessionManager(data_dir=data_dir, database={"url": url}) as sm,
        pytest.raises(ServiceUnavailable, match="PostgreSQL is unavailable"),
    ):
        sm.db()
