# ruff: noqa
"""create_engine(url) where url holds a PostgreSQL URL."""

import sqlalchemy
from sqlalchemy import create_engine

url = "postgresql+psycopg2://app@db/app"
engine = create_engine(url)  # expect: TL202


def make(user, host):
    dsn = f"postgres://{user}@{host}/app"
    other = "postgresql://{}@{}/app".format(user, host)
    return sqlalchemy.create_engine(dsn), create_engine(other)  # expect: TL202, TL202
