# ruff: noqa
"""Reads through names imported from os."""

from os import environ, getenv

pw = environ["PGPASSWORD"]  # expect: TL501
key = getenv("OPENAI_API_KEY")  # expect: TL501
