# ruff: noqa
"""psycopg_pool and psycopg2 pools."""

from psycopg2 import pool
from psycopg_pool import AsyncConnectionPool, ConnectionPool

p1 = ConnectionPool("postgresql://db/app")  # expect: TL202
p2 = AsyncConnectionPool(conninfo="postgresql://db/app", open=False)  # expect: TL202
p3 = pool.ThreadedConnectionPool(1, 5, "dbname=app")  # expect: TL202
