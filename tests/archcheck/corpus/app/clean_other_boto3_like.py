# ruff: noqa
"""Other libraries' `client`/`connect` functions."""

import sqlite3

import httpx

db = sqlite3.connect(":memory:")
web = httpx.Client()
