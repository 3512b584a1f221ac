"""Server-sent events from work that runs in a thread.

The library is synchronous (database, embedder, LLM clients), so the work runs in the
thread pool and hands each event to the event loop through a queue; the loop only
writes bytes, so a slow answer never blocks other requests. An exception after the
stream started cannot change the status any more: it becomes an ``error`` event in the
one error shape (:func:`tidyllm.server.errors.described`), and the stream ends.

Plain Starlette :class:`StreamingResponse` suffices (no sse-starlette): events are a few
lines of text, and the response is closed by the server when the work is done.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import suppress
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.responses import StreamingResponse

from tidyllm.server.errors import described

#: Send a comment line when nothing was sent for this long, so proxies keep the connection.
KEEPALIVE_SECONDS = 15.0
MEDIA_TYPE = "text/event-stream"

Emit = Callable[[str, Any], None]
_running: set[asyncio.Future[None]] = set()  # work whose client went away, kept until it ends


def event(name: str, data: Any) -> bytes:
    """One event: ``data`` as one line of JSON (ASCII, so no character can end the line)."""
    return f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()


def event_stream(work: Callable[[Emit], None], *, where: str) -> StreamingResponse:
    """A ``text/event-stream`` response of what ``work(emit)`` emits from a worker thread."""
    return StreamingResponse(
        _events(work, where),
        media_type=MEDIA_TYPE,
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


async def _events(work: Callable[[Emit], None], where: str) -> AsyncIterator[bytes]:
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[bytes | None] = asyncio.Queue()

    def put(item: bytes | None) -> None:
        with suppress(RuntimeError):  # the loop closed: the server is gone, nobody listens
            loop.call_soon_threadsafe(queue.put_nowait, item)

    def run() -> None:
        try:
            work(lambda name, data: put(event(name, data)))
        except Exception as exc:
            put(event("error", described(exc, where)[1]))
        finally:
            put(None)

    task = asyncio.ensure_future(run_in_threadpool(run))
    _running.add(task)
    task.add_done_callback(_running.discard)
    while True:
        try:
            item = await asyncio.wait_for(queue.get(), KEEPALIVE_SECONDS)
        except TimeoutError:
            yield b": keep-alive\n\n"
            continue
        if item is None:
            return
        yield item
