# ruff: noqa
"""Star import."""

from boto3 import *

s3 = client("s3")  # expect: TL101
