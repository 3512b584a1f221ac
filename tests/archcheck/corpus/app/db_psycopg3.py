# ruff: noqa
"""psycopg 3 connections."""

import psycopg
from psycopg import AsyncConnection


async def run(url):
    a = psycopg.connect(url)  # expect: TL201
    b = psycopg.Connection.connect(url)  # expect: TL201
    c = await AsyncConnection.connect(url)  # expect: TL201
    return a, b, c
