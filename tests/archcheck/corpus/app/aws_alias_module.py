# ruff: noqa
"""Module alias."""

import boto3 as b

s3 = b.client("s3", region_name="eu-west-1")  # expect: TL101
