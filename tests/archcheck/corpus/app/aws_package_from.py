# ruff: noqa
"""from-import of a package's re-export."""

from app.cloud import client

s3 = client("s3")  # expect: TL101
