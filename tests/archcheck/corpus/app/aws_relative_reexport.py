# ruff: noqa
"""Relative import of a re-export, aliased again."""

from .aws_helpers import make_client as mk

s3 = mk("s3")  # expect: TL101
