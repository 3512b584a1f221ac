"""Fixtures: a fresh bucket on the shared moto server, a tmp folder, and both as one store."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import boto3
import pytest
from botocore.config import Config

from tidyllm.objectstore import LocalObjectStore, ObjectStore, S3ObjectStore


def make_client(url: str, *, attempts: int = 3):
    """A boto3 client for moto (tests may build their own; the library never does)."""
    return boto3.client(
        "s3",
        endpoint_url=url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
        config=Config(retries={"max_attempts": attempts, "mode": "standard"}, connect_timeout=2),
    )


@pytest.fixture(scope="session")
def make_s3_client():
    """The client factory, as a fixture (importing conftest modules by name is fragile)."""
    return make_client


@pytest.fixture(scope="session")
def s3_client(moto_s3):
    client = make_client(moto_s3.url)
    yield client
    client.close()


@pytest.fixture
def bucket(s3_client) -> Iterator[str]:
    name = f"t-{uuid.uuid4().hex[:16]}"
    s3_client.create_bucket(Bucket=name)
    yield name


@pytest.fixture
def s3_store(s3_client, bucket) -> S3ObjectStore:
    return S3ObjectStore(s3_client, bucket, prefix="tenant/zone")


@pytest.fixture
def local_store(tmp_path) -> LocalObjectStore:
    return LocalObjectStore(tmp_path / "store")


@pytest.fixture(params=["local", "s3"])
def store(request) -> ObjectStore:
    """The same tests run against both backends."""
    return request.getfixturevalue(f"{request.param}_store")
