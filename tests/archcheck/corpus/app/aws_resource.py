# ruff: noqa
"""boto3 resource."""

import boto3

bucket = boto3.resource("s3").Bucket("b")  # expect: TL101
