# ruff: noqa
"""Suppressions: with a reason they hide a finding, without one they do not."""

import boto3

ok = boto3.client("s3")  # tidyllm: allow[TL101] bootstrap script runs before settings exist
bad = boto3.resource("s3")  # tidyllm: allow[TL101]  # expect: TL101, TL001
# tidyllm: allow[TL201] legacy report job, removed in Q3
import psycopg2

conn = psycopg2.connect("dbname=x")  # expect: TL201
# tidyllm: allow[TL201] legacy report job, removed in Q3
conn2 = psycopg2.connect("dbname=x")
