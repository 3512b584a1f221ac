# ruff: noqa
"""Clean: the session manager may construct every client."""

import os

import boto3
import mlflow
import psycopg
from mlflow import MlflowClient
from psycopg_pool import ConnectionPool


class UnifiedSessionManager:
    def get_s3_client(self):
        return boto3.client("s3")

    def get_bedrock_client(self):
        return boto3.client("bedrock-runtime")

    def db(self):
        return ConnectionPool(os.environ["DATABASE_URL"], open=False)

    def connect(self):
        return psycopg.connect(os.environ.get("DATABASE_URL"))

    def get_mlflow_client(self):
        mlflow.set_tracking_uri(os.getenv("MLFLOW_TRACKING_URI"))
        return MlflowClient()
