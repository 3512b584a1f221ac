# ruff: noqa
"""aioboto3 inside an async function."""

import aioboto3


async def fetch():
    session = aioboto3.Session()  # expect: TL101
    async with session.client("s3") as s3:
        return await s3.list_buckets()
