# ruff: noqa
"""The legacy official manager module: allowed by default, never reported."""

import os

import boto3
import psycopg2


class UnifiedSessionManager:
    def __init__(self):
        self._s3 = boto3.client("s3", region_name=os.getenv("AWS_REGION"))
        self._pw = os.getenv("POSTGRES_PASSWORD")

    def get_postgres_connection(self):
        return psycopg2.connect(password=self._pw)
