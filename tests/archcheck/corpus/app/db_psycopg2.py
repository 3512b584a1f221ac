# ruff: noqa
"""psycopg2 connections."""

import psycopg2


def query(dsn):
    conn = psycopg2.connect(dsn)  # expect: TL201
    with psycopg2.connect(dsn) as c2:  # expect: TL201
        return conn, c2
