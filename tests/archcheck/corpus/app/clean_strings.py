# ruff: noqa
"""Banned names as strings, comments and docs: `boto3.client('s3')`."""

BANNED = ["boto3.client", "psycopg2.connect", "AWS_SECRET_ACCESS_KEY"]
# boto3.client("s3") in a comment is not a call
HELP = "call psycopg2.connect(dsn) only in the session manager"


def doc():
    """Example: postgresql://user:password@host/db and AKIAIOSFODNN7EXAMPLE in docs."""
    return BANNED
