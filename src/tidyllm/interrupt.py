"""Process-wide interruption: a signal asks running work to stop instead of tearing it down.

The CLI's SIGINT/SIGTERM handler calls :func:`request_stop`. Long-running work
that can stop gracefully (a drop-zone worker: finish the current files for its
grace period, then give the remaining leases back) registers itself with
:func:`stoppable` while it runs; the handler then stops it rather than raising
``KeyboardInterrupt`` in the middle of it, which would leave its threads
processing files (and holding leases) while the process exits. Work that
starts after a stop was requested is refused with ``KeyboardInterrupt``.

Library callers that never install the handler see no difference.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol


class Stoppable(Protocol):
    def stop(self) -> None:
        """Ask the work to stop; must be safe to call from a signal handler."""


_requested = threading.Event()
_lock = threading.RLock()  # re-entrant: the signal handler runs on the main thread
_active: list[Stoppable] = []


def requested() -> bool:
    """Whether a stop was requested (by a signal) in this process."""
    return _requested.is_set()


def request_stop() -> bool:
    """Mark the process as interrupted and stop every registered work; True if any was running."""
    _requested.set()
    with _lock:
        running = list(_active)
    for work in running:
        work.stop()
    return bool(running)


def reset() -> None:
    """Forget a previous request (for tests and long-lived hosts)."""
    _requested.clear()


@contextmanager
def stoppable(work: Stoppable) -> Iterator[None]:
    """Register ``work`` so that an interruption stops it gracefully while the block runs."""
    if _requested.is_set():
        raise KeyboardInterrupt
    with _lock:
        _active.append(work)
    try:
        yield
    finally:
        with _lock:
            _active.remove(work)
