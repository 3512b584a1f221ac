# ruff: noqa
"""Type-only imports and annotations."""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


def upload(client: "S3Client", key: str) -> None:
    client.put_object(Bucket="b", Key=key, Body=b"")
