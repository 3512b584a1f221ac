# ruff: noqa
"""create_engine on SQLite URLs and unknown URLs."""

from sqlalchemy import create_engine

url = "sqlite:///local.db"
engine = create_engine(url)


def make(settings):
    return create_engine(settings.database_url)
