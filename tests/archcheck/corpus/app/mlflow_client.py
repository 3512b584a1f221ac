# ruff: noqa
"""MLflow clients."""

import mlflow.tracking
from mlflow import MlflowClient

a = MlflowClient()  # expect: TL301
b = mlflow.tracking.MlflowClient(tracking_uri="http://mlflow:5000")  # expect: TL301
