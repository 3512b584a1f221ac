"""An S3 bucket (or any S3-compatible endpoint) as an object store.

The boto3 client comes from the session manager; this module never builds one.
Every botocore error is mapped at this boundary to a :mod:`tidyllm.errors` class
whose message names the bucket and key and carries no credentials (it passes
through :func:`tidyllm.redaction.redact`).

Conditional writes use S3's ``If-None-Match: *`` on ``PutObject`` and
``CompleteMultipartUpload`` (no check-then-write race). ``CopyObject`` is not used
for ``copy(if_absent=True)`` because S3-compatible stores (moto among them) ignore
its ``If-None-Match``; small objects are re-put with ``If-None-Match`` and large ones
copied server-side part by part, completed with ``If-None-Match``. Copies are
pinned to the source's etag (``If-Match``), so they never mix two versions.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import re
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC
from types import MappingProxyType
from typing import Any, BinaryIO

from boto3.s3.transfer import TransferConfig
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    HTTPClientError,
    IncompleteReadError,
    NoCredentialsError,
    PartialCredentialsError,
)
from botocore.exceptions import ConnectionError as BotoConnectionError
from urllib3.exceptions import HTTPError as Urllib3Error

from tidyllm.errors import (
    CredentialError,
    ObjectExists,
    ObjectNotFound,
    ObjectStoreError,
    ObjectTooLarge,
    ServiceUnavailable,
    TidyLLMError,
)
from tidyllm.objectstore.base import (
    CHUNK_SIZE,
    Data,
    ObjectInfo,
    ObjectStore,
    check_data,
    check_metadata,
)
from tidyllm.objectstore.keys import validate_key, validate_prefix
from tidyllm.redaction import redact

MiB = 1024 * 1024
MIN_PART_SIZE = 5 * MiB  # S3's minimum for every part but the last
MAX_COPY_OBJECT = 5 * 1024 * MiB  # CopyObject and a single part are limited to 5 GiB
MAX_PARTS = 10_000
_NOT_FOUND = {"NoSuchKey", "404", "NotFound"}
_PRECONDITION = {"PreconditionFailed", "412", "ConditionalRequestConflict", "409"}
_UNAVAILABLE = {"500", "502", "503", "504", "InternalError", "ServiceUnavailable", "SlowDown"}
_PLAIN_MD5 = re.compile(r"^[0-9a-f]{32}$")


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


class _Body(io.RawIOBase):
    """A boto3 ``StreamingBody`` as a raw stream whose errors are TidyLLM errors."""

    def __init__(self, body: Any, on_error: Callable[[Exception], TidyLLMError]) -> None:
        self._body = body
        self._on_error = on_error

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        try:
            data = self._body.read(len(buffer))
        except (BotoCoreError, Urllib3Error, OSError) as exc:
            raise self._on_error(exc) from exc
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._body.close()
        super().close()


def _read_upto(stream: BinaryIO, size: int) -> bytes:
    """Read exactly ``size`` bytes unless the stream ends first (streams may return less)."""
    chunks, total = [], 0
    while total < size:
        chunk = stream.read(size - total)
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    return b"".join(chunks)


class S3ObjectStore(ObjectStore):
    """Objects under ``prefix`` in ``bucket``, through a boto3 S3 ``client``.

    ``part_size`` sets the multipart threshold and part size for streamed uploads;
    objects up to ``inline_copy_max`` bytes are copied-if-absent through this process
    (keeping a single-part etag), larger ones server-side in ``copy_part_size`` parts.
    """

    uri_scheme = "s3"

    def __init__(
        self,
        client: Any,
        bucket: str,
        prefix: str = "",
        *,
        part_size: int = 16 * MiB,
        inline_copy_max: int = 16 * MiB,
        copy_part_size: int = 1024 * MiB,
    ) -> None:
        if not isinstance(bucket, str) or not re.fullmatch(r"[a-z0-9][a-z0-9.\-_]{1,254}", bucket):
            raise ValueError(f"S3 bucket name {bucket!r} is not valid")
        prefix = prefix.strip("/")
        if prefix:
            validate_key(prefix)
            prefix += "/"
        if part_size < MIN_PART_SIZE or copy_part_size < MIN_PART_SIZE:
            raise ValueError(f"S3 part sizes must be at least {MIN_PART_SIZE} bytes")
        if copy_part_size > MAX_COPY_OBJECT:
            raise ValueError(f"S3 copy part size must be at most {MAX_COPY_OBJECT} bytes")
        self.client = client
        self.bucket = bucket
        self.prefix = prefix
        self.part_size = part_size
        self.inline_copy_max = inline_copy_max
        self.copy_part_size = copy_part_size
        self.description = f"S3 bucket {bucket!r}" + (f" prefix {prefix!r}" if prefix else "")

    def __repr__(self) -> str:
        return f"S3ObjectStore(bucket={self.bucket!r}, prefix={self.prefix!r})"

    # -- helpers ----------------------------------------------------------------------
    def _full(self, key: str) -> str:
        return self.prefix + key

    def uri(self, key: str) -> str:
        """``s3://bucket/prefix/key``."""
        return f"s3://{self.bucket}/{self._full(validate_key(key))}"

    def _error(
        self,
        exc: Exception,
        action: str,
        key: str | None = None,
        *,
        on_precondition: type[ObjectStoreError] = ObjectExists,
    ) -> TidyLLMError:
        """Map a botocore/urllib3 error to a TidyLLM error naming bucket and key."""
        where = (
            f"s3://{self.bucket}/{self._full(key)}" if key else f"s3://{self.bucket}/{self.prefix}"
        )
        if isinstance(
            exc, BotoConnectionError | ConnectionClosedError | HTTPClientError | IncompleteReadError
        ):
            return ServiceUnavailable(
                "s3", f"cannot reach the S3 endpoint to {action} {where}: {redact(exc)}"
            )
        if isinstance(exc, NoCredentialsError | PartialCredentialsError):
            return CredentialError(f"no usable AWS credentials to {action} {where}: {redact(exc)}")
        if isinstance(exc, ClientError):
            code = _code(exc)
            message = redact(exc.response.get("Error", {}).get("Message", "") or code)
            if code == "NoSuchBucket":
                return ServiceUnavailable(
                    "s3", f"bucket {self.bucket!r} does not exist ({action} {where})"
                )
            if code in _NOT_FOUND:
                return ObjectNotFound(f"no object at {where}")
            if code in _PRECONDITION:
                if on_precondition is ObjectExists:
                    return ObjectExists(f"{where} already exists; it was not overwritten")
                return on_precondition(f"{where} changed during {action} ({code})")
            if code in _UNAVAILABLE:
                return ServiceUnavailable(
                    "s3", f"S3 answered {code} to {action} {where}: {message}"
                )
            if code in {"AccessDenied", "403", "Forbidden"}:
                return ObjectStoreError(f"access denied to {action} {where}")
            if code in {"EntityTooLarge"}:
                return ObjectTooLarge(f"{where} is too large for S3: {message}")
            return ObjectStoreError(f"S3 could not {action} {where}: {code}: {message}")
        if isinstance(exc, Urllib3Error | OSError):
            return ServiceUnavailable(
                "s3", f"connection lost while trying to {action} {where}: {redact(exc)}"
            )
        return ObjectStoreError(f"S3 could not {action} {where}: {redact(exc)}")

    def _call(self, method: str, action: str, key: str | None = None, **kwargs: Any) -> Any:
        try:
            return getattr(self.client, method)(Bucket=self.bucket, **kwargs)
        except (ClientError, BotoCoreError) as exc:
            raise self._error(exc, action, key) from exc

    @staticmethod
    def _extra(content_type: str | None, metadata: Mapping[str, str]) -> dict[str, Any]:
        extra: dict[str, Any] = {"Metadata": dict(metadata)}
        if content_type:
            extra["ContentType"] = content_type
        return extra

    # -- writes -----------------------------------------------------------------------
    def put(
        self,
        key: str,
        data: Data,
        *,
        content_type: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> ObjectInfo:
        """Write ``data``; streams go through boto3's multipart ``upload_fileobj``."""
        key = validate_key(key)
        check_data(data)
        extra = self._extra(content_type, check_metadata(metadata))
        if isinstance(data, bytes | bytearray | memoryview):
            self._call("put_object", "write", key, Key=self._full(key), Body=bytes(data), **extra)
        else:
            config = TransferConfig(
                multipart_threshold=self.part_size, multipart_chunksize=self.part_size
            )
            try:
                self.client.upload_fileobj(
                    data, self.bucket, self._full(key), ExtraArgs=extra, Config=config
                )
            except (ClientError, BotoCoreError, Urllib3Error) as exc:
                raise self._error(exc, "write", key) from exc
        return self.head(key)

    def put_if_absent(
        self,
        key: str,
        data: Data,
        *,
        content_type: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> ObjectInfo:
        """Create ``key`` only if absent (``If-None-Match: *``), whole or multipart."""
        key = validate_key(key)
        check_data(data)
        extra = self._extra(content_type, check_metadata(metadata))
        if isinstance(data, bytes | bytearray | memoryview):
            first: bytes = bytes(data)
        else:
            first = _read_upto(data, self.part_size)
        if len(first) < self.part_size or isinstance(data, bytes | bytearray | memoryview):
            self._call(
                "put_object",
                "create",
                key,
                Key=self._full(key),
                Body=first,
                IfNoneMatch="*",
                **extra,
            )
        else:
            self._multipart_upload(key, first, data, extra)
        return self.head(key)

    def _multipart_upload(
        self, key: str, first: bytes, stream: BinaryIO, extra: dict[str, Any]
    ) -> None:
        full = self._full(key)
        upload = self._call("create_multipart_upload", "create", key, Key=full, **extra)
        upload_id = upload["UploadId"]
        try:
            parts, number, chunk = [], 1, first
            while chunk:
                if number > MAX_PARTS:
                    raise ObjectTooLarge(
                        f"{self.uri(key)}: stream exceeds {MAX_PARTS} parts "
                        f"of {self.part_size} bytes"
                    )
                part = self._call(
                    "upload_part",
                    "create",
                    key,
                    Key=full,
                    UploadId=upload_id,
                    PartNumber=number,
                    Body=chunk,
                )
                parts.append({"ETag": part["ETag"], "PartNumber": number})
                number += 1
                chunk = _read_upto(stream, self.part_size)
            self._call(
                "complete_multipart_upload",
                "create",
                key,
                Key=full,
                UploadId=upload_id,
                MultipartUpload={"Parts": parts},
                IfNoneMatch="*",
            )
        except BaseException:
            with contextlib.suppress(Exception):
                self.client.abort_multipart_upload(Bucket=self.bucket, Key=full, UploadId=upload_id)
            raise

    def copy(self, src: str, dst: str, *, if_absent: bool = False) -> ObjectInfo:
        """Server-side copy pinned to the source's etag; ``if_absent`` never overwrites."""
        src, dst = validate_key(src), validate_key(dst)
        info = self.head(src)
        if if_absent and info.size <= self.inline_copy_max:
            self._inline_copy(info, dst)
        elif if_absent or info.size > MAX_COPY_OBJECT:
            self._multipart_copy(info, dst, if_absent=if_absent)
        else:
            try:
                self.client.copy_object(
                    Bucket=self.bucket,
                    Key=self._full(dst),
                    CopySource={"Bucket": self.bucket, "Key": self._full(src)},
                    CopySourceIfMatch=f'"{info.etag}"',
                    MetadataDirective="COPY",
                )
            except (ClientError, BotoCoreError) as exc:
                raise self._error(exc, "copy", src, on_precondition=ObjectStoreError) from exc
        return self.head(dst)

    def _inline_copy(self, info: ObjectInfo, dst: str) -> None:
        try:
            resp = self.client.get_object(
                Bucket=self.bucket, Key=self._full(info.key), IfMatch=f'"{info.etag}"'
            )
            body = resp["Body"].read()
        except (ClientError, BotoCoreError, Urllib3Error) as exc:
            raise self._error(exc, "copy", info.key, on_precondition=ObjectStoreError) from exc
        self._call(
            "put_object",
            "copy to",
            dst,
            Key=self._full(dst),
            Body=body,
            IfNoneMatch="*",
            **self._extra(info.content_type, info.metadata),
        )

    def _multipart_copy(self, info: ObjectInfo, dst: str, *, if_absent: bool) -> None:
        full = self._full(dst)
        extra = self._extra(info.content_type, info.metadata)
        upload_id = self._call("create_multipart_upload", "copy to", dst, Key=full, **extra)[
            "UploadId"
        ]
        part_size = max(self.copy_part_size, -(-info.size // MAX_PARTS))
        try:
            parts = []
            for number, start in enumerate(range(0, max(info.size, 1), part_size), 1):
                end = min(start + part_size, info.size) - 1
                kwargs: dict[str, Any] = {}
                if info.size:
                    kwargs["CopySourceRange"] = f"bytes={start}-{end}"
                try:
                    part = self.client.upload_part_copy(
                        Bucket=self.bucket,
                        Key=full,
                        UploadId=upload_id,
                        PartNumber=number,
                        CopySource={"Bucket": self.bucket, "Key": self._full(info.key)},
                        CopySourceIfMatch=f'"{info.etag}"',
                        **kwargs,
                    )
                except (ClientError, BotoCoreError) as exc:
                    raise self._error(
                        exc, "copy", info.key, on_precondition=ObjectStoreError
                    ) from exc
                parts.append({"ETag": part["CopyPartResult"]["ETag"], "PartNumber": number})
            condition = {"IfNoneMatch": "*"} if if_absent else {}
            self._call(
                "complete_multipart_upload",
                "copy to",
                dst,
                Key=full,
                UploadId=upload_id,
                MultipartUpload={"Parts": parts},
                **condition,
            )
        except BaseException:
            with contextlib.suppress(Exception):
                self.client.abort_multipart_upload(Bucket=self.bucket, Key=full, UploadId=upload_id)
            raise

    def delete(self, key: str) -> None:
        """Delete ``key`` (S3 deletes are idempotent)."""
        key = validate_key(key)
        self._call("delete_object", "delete", key, Key=self._full(key))

    def _delete_if_unchanged(self, info: ObjectInfo) -> None:
        """Conditional delete (``If-Match``); falls back to check-then-delete if unsupported."""
        try:
            self.client.delete_object(
                Bucket=self.bucket, Key=self._full(info.key), IfMatch=f'"{info.etag}"'
            )
        except ClientError as exc:
            code = _code(exc)
            if code in _NOT_FOUND:
                return
            if code in {"NotImplemented", "501"}:
                super()._delete_if_unchanged(info)
                return
            raise self._error(exc, "delete", info.key, on_precondition=ObjectStoreError) from exc
        except BotoCoreError as exc:
            raise self._error(exc, "delete", info.key) from exc

    def _etags_prove_equal(self, a: ObjectInfo, b: ObjectInfo) -> bool:
        """Also accept a one-part multipart etag derived from a plain MD5 etag."""
        if a.etag == b.etag:
            return True
        for plain, multi in ((a.etag, b.etag), (b.etag, a.etag)):
            if (
                _PLAIN_MD5.match(plain)
                and multi
                == hashlib.md5(bytes.fromhex(plain), usedforsecurity=False).hexdigest() + "-1"
            ):
                return True
        return False

    # -- reads ------------------------------------------------------------------------
    @contextlib.contextmanager
    def get(self, key: str) -> Iterator[BinaryIO]:
        """Stream the object's body; read errors surface as TidyLLM errors."""
        key = validate_key(key)
        resp = self._call("get_object", "read", key, Key=self._full(key))
        raw = _Body(resp["Body"], lambda exc: self._error(exc, "read", key))
        with io.BufferedReader(raw, buffer_size=CHUNK_SIZE) as stream:
            yield stream  # type: ignore[misc]

    def head(self, key: str) -> ObjectInfo:
        """``HeadObject``: size, etag, modified, content type, metadata, version."""
        key = validate_key(key)
        resp = self._call("head_object", "inspect", key, Key=self._full(key))
        return ObjectInfo(
            key=key,
            size=int(resp["ContentLength"]),
            etag=resp["ETag"].strip('"'),
            modified=resp["LastModified"].astimezone(UTC),
            content_type=resp.get("ContentType"),
            metadata=MappingProxyType(dict(resp.get("Metadata") or {})),
            version_id=resp.get("VersionId"),
        )

    def list(self, prefix: str = "", *, page_size: int = 1000) -> Iterator[ObjectInfo]:
        """``ListObjectsV2`` page by page (S3 returns keys in UTF-8 byte order).

        Folder markers (keys ending in ``/``, made by consoles) are skipped. Keys that
        :func:`validate_key` would refuse are still yielded - they are real objects
        someone dropped; check them with :func:`is_valid_key` before using them.
        """
        prefix = validate_prefix(prefix)
        if not 1 <= page_size <= 1000:
            raise ValueError("page_size must be between 1 and 1000 (S3's maximum)")
        return self._list(prefix, page_size)

    def _list(self, prefix: str, page_size: int) -> Iterator[ObjectInfo]:
        strip = len(self.prefix)
        try:
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket,
                Prefix=self._full(prefix),
                PaginationConfig={"PageSize": page_size},
            )
            for page in pages:
                for obj in page.get("Contents", ()):
                    key = obj["Key"][strip:]
                    if not key or key.endswith("/"):
                        continue
                    yield ObjectInfo(
                        key=key,
                        size=int(obj["Size"]),
                        etag=obj["ETag"].strip('"'),
                        modified=obj["LastModified"].astimezone(UTC),
                    )
        except (ClientError, BotoCoreError) as exc:
            raise self._error(exc, "list", prefix or None) from exc

    def probe(self) -> str:
        """``HeadBucket`` plus a one-key ``ListObjectsV2`` on the prefix (never ListBuckets)."""
        try:
            self.client.head_bucket(Bucket=self.bucket)
            self.client.list_objects_v2(Bucket=self.bucket, Prefix=self.prefix, MaxKeys=1)
        except ClientError as exc:
            code = _code(exc)
            if code in {"NoSuchBucket", "404", "NotFound"}:
                raise ServiceUnavailable("s3", f"bucket {self.bucket!r} does not exist") from exc
            if code in {"AccessDenied", "403", "Forbidden"}:
                raise ServiceUnavailable("s3", f"access denied to {self.description}") from exc
            raise ServiceUnavailable("s3", f"{self.description}: {code}") from exc
        except BotoCoreError as exc:
            mapped = self._error(exc, "probe", None)
            if isinstance(mapped, ServiceUnavailable):
                raise mapped from exc
            raise ServiceUnavailable("s3", str(mapped)) from exc
        return f"{self.description} is reachable and listable"
