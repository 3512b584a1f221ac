# ruff: noqa
"""Call through a local module that re-exports boto3.client."""

from app.aws_helpers import Session, make_client

s3 = make_client("s3")  # expect: TL101
session = Session()  # expect: TL101
