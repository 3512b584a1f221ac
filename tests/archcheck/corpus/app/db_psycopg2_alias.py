# ruff: noqa
"""Aliased psycopg2.connect."""

from psycopg2 import connect as pgconnect

conn = pgconnect(host="db", dbname="app")  # expect: TL201
