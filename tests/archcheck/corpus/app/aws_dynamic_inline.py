# ruff: noqa
"""Inline dynamic import."""

import importlib

s3 = importlib.import_module("boto3").client("s3")  # expect: TL101
