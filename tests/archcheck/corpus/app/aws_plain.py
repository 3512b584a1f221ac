# ruff: noqa
"""Plain boto3 client."""

import boto3

s3 = boto3.client("s3")  # expect: TL101
