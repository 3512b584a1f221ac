# ruff: noqa
"""A call spread over several lines is reported at its first line."""

import boto3

s3 = boto3.client(  # expect: TL101
    "s3",
    region_name="eu-west-1",
)
