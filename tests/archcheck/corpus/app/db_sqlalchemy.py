# ruff: noqa
"""SQLAlchemy engines: PostgreSQL URLs are violations, SQLite is not."""

from sqlalchemy import create_engine
from sqlalchemy.ext.asyncio import create_async_engine

pg = create_engine("postgresql+psycopg://app@db/app")  # expect: TL202
apg = create_async_engine(f"postgresql+asyncpg://app@{'db'}/app")  # expect: TL202
lite = create_engine("sqlite:///local.db")
