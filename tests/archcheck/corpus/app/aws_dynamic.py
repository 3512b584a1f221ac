# ruff: noqa
"""importlib.import_module with a constant, bound to a name."""

import importlib

b = importlib.import_module("boto3")
s3 = b.client("s3")  # expect: TL101
