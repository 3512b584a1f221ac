# ruff: noqa
"""Two-level relative import of a re-export."""

from ..aws_helpers import make_client


def get():
    return make_client("s3")  # expect: TL101
