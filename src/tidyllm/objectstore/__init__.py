"""One interface over S3 and a local folder: put, get, head, list, copy, delete, move.

Use :class:`LocalObjectStore` for a folder and :class:`S3ObjectStore` with a client
from the session manager for a bucket; both implement :class:`ObjectStore`.
"""

from typing import TYPE_CHECKING, Any

from tidyllm.objectstore.base import ObjectInfo, ObjectStore
from tidyllm.objectstore.keys import (
    MAX_KEY_BYTES,
    MAX_SEGMENT_BYTES,
    is_valid_key,
    validate_key,
    validate_prefix,
)
from tidyllm.objectstore.local import LocalObjectStore

if TYPE_CHECKING:
    from tidyllm.objectstore.s3 import S3ObjectStore


def __getattr__(name: str) -> Any:
    # S3ObjectStore imports boto3 (0.3-1 s): only code that uses a bucket pays for it.
    if name == "S3ObjectStore":
        from tidyllm.objectstore.s3 import S3ObjectStore

        return S3ObjectStore
    raise AttributeError(f"module 'tidyllm.objectstore' has no attribute {name!r}")


__all__ = [
    "MAX_KEY_BYTES",
    "MAX_SEGMENT_BYTES",
    "LocalObjectStore",
    "ObjectInfo",
    "ObjectStore",
    "S3ObjectStore",
    "is_valid_key",
    "validate_key",
    "validate_prefix",
]
