# ruff: noqa
"""A local module's own `client` function is not boto3's."""

from app.storage import client

s3 = client("s3")
