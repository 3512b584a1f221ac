# ruff: noqa
"""`from .. import module` then attribute call."""

from .. import aws_helpers

s3 = aws_helpers.make_client("s3")  # expect: TL101
