# ruff: noqa
"""MLflow global state."""

import mlflow as mf

mf.set_tracking_uri("http://mlflow:5000")  # expect: TL302
mf.set_registry_uri("http://mlflow:5000")  # expect: TL302
