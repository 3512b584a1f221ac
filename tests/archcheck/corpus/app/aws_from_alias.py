# ruff: noqa
"""from-import with alias."""

from boto3 import client as c

s3 = c("s3")  # expect: TL101
