"""close() releases everything: file descriptors and threads return to where they were."""

import os
import threading
import time

from tidyllm import UnifiedSessionManager


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def settle(baseline_threads: int) -> None:
    deadline = time.monotonic() + 10
    while threading.active_count() > baseline_threads and time.monotonic() < deadline:
        time.sleep(0.05)


def cycle(data_dir, database_url) -> None:
    with UnifiedSessionManager(data_dir=data_dir, database={"url": database_url}) as sm:
        assert sm.execute_postgres_query("SELECT 1") == [(1,)]
        sm.object_store().put("x.txt", b"x")
        sm.health()


def test_no_fd_or_thread_leak_across_open_close_cycles(data_dir, database_url):
    cycle(data_dir, database_url)  # warm-up: imports, model files, lazily created globals
    settle(threading.active_count())
    fds, threads = open_fds(), threading.active_count()
    for _ in range(5):
        cycle(data_dir, database_url)
    settle(threads)
    assert threading.active_count() <= threads
    assert open_fds() <= fds + 2, f"fds grew from {fds} to {open_fds()}"
