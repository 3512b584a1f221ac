# ruff: noqa
"""A function object bound to a local name, then called."""

import boto3

factory = boto3.client
s3 = factory("s3")  # expect: TL101
