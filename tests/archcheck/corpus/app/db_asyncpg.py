# ruff: noqa
"""asyncpg connections and pools."""

import asyncpg


async def run():
    conn = await asyncpg.connect(dsn="postgresql://db/app")  # expect: TL201
    pool = await asyncpg.create_pool(dsn="postgresql://db/app")  # expect: TL202
    return conn, pool
