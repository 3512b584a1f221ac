# ruff: noqa
"""bedrock-runtime clients via boto3."""

import boto3

br = boto3.client("bedrock-runtime")  # expect: TL402
br2 = boto3.client(service_name="bedrock-runtime", region_name="us-east-1")  # expect: TL402
