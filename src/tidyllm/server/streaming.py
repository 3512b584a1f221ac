"""A multipart/form-data body read as blocking file streams, one network chunk at a time.

Uploads must never sit whole in memory or in a temp file (FastAPI's ``UploadFile``
spools to disk). So the body is parsed by python-multipart's push parser *inside the
worker thread* that runs the blocking ``drop_data``: each ``read()`` on a
:class:`FilePart` pulls the next chunk of ``request.stream()`` from the event loop
(``anyio.from_thread.run``), feeds the parser and returns the file bytes it produced.
At most one network chunk (plus the bytes kept for type detection) is held at a time;
the client is only read as fast as the object store writes, which is the backpressure.

A file larger than ``limit`` raises :class:`UploadTooLarge` from ``read()`` while
streaming, a client that goes away raises :class:`UploadAborted`, and a client that
sends nothing for ``idle`` seconds (``server.upload_idle_seconds``) raises
:class:`UploadTimedOut`; either way the object store's writer sees the exception and
removes its partial temp object. The idle clock runs only while the server waits for
the client: time the server spends writing a chunk does not count against it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import anyio
import anyio.from_thread
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from tidyllm.errors import KnowledgeError, ObjectTooLarge

DRAIN_BYTES = 16 * 1024 * 1024  # read and dropped after a refusal, so the client sees it


class BadUpload(KnowledgeError):
    """The request is not an upload we accept (not multipart, no file, bad name or type)."""

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(message)
        self.hint = hint


class UploadTooLarge(ObjectTooLarge):
    """A file in the upload is larger than ``server.max_upload_bytes`` (refused mid-stream)."""

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(message)
        self.hint = hint


class UploadAborted(BadUpload):
    """The client stopped sending before the body was complete."""


class UploadTimedOut(UploadAborted):
    """The client sent nothing for ``server.upload_idle_seconds`` (answered 408, closed)."""


def boundary_of(content_type: str | None) -> bytes:
    """The multipart boundary from a ``Content-Type`` header, or :class:`BadUpload`."""
    kind, options = parse_options_header(content_type or "")
    boundary = options.get(b"boundary", b"")
    if kind != b"multipart/form-data" or not boundary or len(boundary) > 200:
        raise BadUpload(
            "an upload must be a multipart/form-data body",
            hint="send the files as form fields, e.g. curl -F file=@report.pdf",
        )
    return boundary


@dataclass
class FilePart:
    """One file of the body, readable once, in order, from the worker thread."""

    body: MultipartBody
    filename: str
    field: str
    size: int = 0
    ended: bool = False
    buffer: bytearray = field(default_factory=bytearray)
    error: Exception | None = None  # raised by the next peek or read (too large)

    def peek(self, n: int) -> bytes:
        """Up to ``n`` first bytes (fewer only at the end of the file), kept for read()."""
        while len(self.buffer) < n and not self.ended and self.error is None:
            self.body.pump()
        if self.error is not None:
            raise self.error
        return bytes(self.buffer[:n])

    def read(self, n: int = -1) -> bytes:
        """What a binary stream's ``read`` returns; pulls from the network when empty."""
        while not self.buffer and not self.ended and self.error is None:
            self.body.pump()
        if self.error is not None:
            raise self.error
        take = len(self.buffer) if n is None or n < 0 else min(n, len(self.buffer))
        out = bytes(self.buffer[:take])
        del self.buffer[:take]
        return out


class MultipartBody:
    """The request body as a sequence of :class:`FilePart` (:meth:`next_file`)."""

    def __init__(
        self, chunks: AsyncIterator[bytes], boundary: bytes, limit: int, idle: float
    ) -> None:
        self.chunks = chunks
        self.limit = limit
        self.idle = idle  # seconds to wait for each network chunk
        self.finished = False
        self.current: FilePart | None = None
        self.started: list[FilePart] = []
        self.handed = 0  # how many of ``started`` next_file returned
        self._headers: dict[bytes, bytes] = {}
        self._field = b""
        self._value = b""
        self.parser = MultipartParser(
            boundary,
            {
                "on_part_begin": self._part_begin,
                "on_header_field": self._header_field,
                "on_header_value": self._header_value,
                "on_header_end": self._header_end,
                "on_headers_finished": self._headers_finished,
                "on_part_data": self._part_data,
                "on_part_end": self._part_end,
                "on_end": self._end,
            },
        )

    # -- parser callbacks (run inside pump) --------------------------------------------------
    def _part_begin(self) -> None:
        self._headers = {}
        self.current = None

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._field += data[start:end]

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def _header_end(self) -> None:
        self._headers[self._field.lower()] = self._value
        self._field, self._value = b"", b""

    def _headers_finished(self) -> None:
        _, options = parse_options_header(self._headers.get(b"content-disposition", b""))
        if b"filename" in options:
            self.current = FilePart(
                self,
                options[b"filename"].decode("utf-8", "surrogateescape"),
                options.get(b"name", b"").decode("utf-8", "replace"),
            )
            self.started.append(self.current)

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        part = self.current
        if part is None or part.error is not None:
            return  # a plain form field, or a refused file: not kept
        part.size += end - start
        if part.size > self.limit:
            # raised from the part's next read, where the writer and the audit see it
            part.error = UploadTooLarge(
                f"a file is larger than the upload limit of {self.limit} bytes; nothing was stored",
                hint="the limit is the server.max_upload_bytes setting",
            )
            part.buffer.clear()
            return
        part.buffer += data[start:end]

    def _part_end(self) -> None:
        if self.current is not None:
            self.current.ended = True
        self.current = None

    def _end(self) -> None:
        self.finished = True

    # -- driving --------------------------------------------------------------------------------
    def pump(self) -> None:
        """Feed one network chunk to the parser (from the worker thread)."""
        if self.finished:
            raise BadUpload("the multipart body ended in the middle of a file")
        chunk = anyio.from_thread.run(self._next_chunk)
        if not chunk:
            raise UploadAborted(
                "the upload ended before the multipart body was complete; nothing was stored",
                hint="send the whole body, ending with the closing boundary",
            )
        try:
            self.parser.write(chunk)
        except MultipartParseError as exc:
            raise BadUpload(
                "the multipart body is malformed; nothing more was stored",
                hint="send the files as form fields, e.g. curl -F file=@report.pdf",
            ) from exc

    async def _next_chunk(self) -> bytes:
        try:
            while True:
                with anyio.fail_after(self.idle):
                    chunk = await self.chunks.__anext__()
                if chunk:
                    return chunk
        except StopAsyncIteration:
            return b""
        except TimeoutError:
            raise UploadTimedOut(
                f"the client sent nothing for {self.idle:g} seconds in the middle of the "
                "upload; the connection is closed and nothing was stored",
                hint="send the body without pausing, or raise server.upload_idle_seconds",
            ) from None
        except Exception as exc:  # starlette's ClientDisconnect and the like
            raise UploadAborted("the client went away during the upload") from exc

    def next_file(self) -> FilePart | None:
        """The next file part with its headers read, or None at the end of the body."""
        if self.handed:
            previous = self.started[self.handed - 1]
            while previous.error is None and previous.read(1 << 16):  # skipped, never kept
                pass
        while len(self.started) == self.handed and not self.finished:
            self.pump()
        if len(self.started) == self.handed:
            return None
        self.handed += 1
        return self.started[self.handed - 1]


async def drain(chunks: AsyncIterator[bytes], idle: float, limit: int = DRAIN_BYTES) -> None:
    """Read and drop the rest of a refused body, up to ``limit`` bytes.

    A client that is still sending when the server answers and closes often gets a
    connection reset instead of the answer; reading on (boundedly) lets it see the
    413 or 400. Past ``limit`` bytes, or after ``idle`` seconds without a chunk, the
    answer goes out anyway.
    """
    seen = 0
    try:
        while seen <= limit:
            with anyio.move_on_after(idle) as waited:
                chunk = await chunks.__anext__()
            if waited.cancelled_caught:
                return  # the client stopped sending
            seen += len(chunk)
    except Exception:  # the end, the client went away, or the stream was already consumed
        return
