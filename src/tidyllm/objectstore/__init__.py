"""One interface over S3 and a local folder: put, get, head, list, copy, delete, move.

Use :class:`LocalObjectStore` for a folder and :class:`S3ObjectStore` with a client
from the session manager for a bucket; both implement :class:`ObjectStore`.
"""

from tidyllm.objectstore.base import ObjectInfo, ObjectStore
from tidyllm.objectstore.keys import (
    MAX_KEY_BYTES,
    MAX_SEGMENT_BYTES,
    is_valid_key,
    validate_key,
    validate_prefix,
)
from tidyllm.objectstore.local import LocalObjectStore
from tidyllm.objectstore.s3 import S3ObjectStore

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
