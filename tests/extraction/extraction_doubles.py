"""TEST DOUBLES: runners for ``extract_isolated(runner=...)`` that misbehave on purpose.

A real parser that hangs, exhausts memory or segfaults on demand does not
exist, so these stand in for one. They run only inside the extraction child
process, which imports this module by name; nothing in src/ knows about them.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from tidyllm.extraction import ExtractedDocument, ExtractLimits, Page


def _note_pid(path: Path) -> None:
    Path(str(path) + ".pid").write_text(str(os.getpid()))


def hanging_parser(path: Path, *, filename: str | None, limits: ExtractLimits) -> ExtractedDocument:
    """TEST DOUBLE: a parser stuck forever (sleeps, so RLIMIT_CPU never fires)."""
    _note_pid(path)
    time.sleep(3600)
    raise AssertionError("unreachable")


def memory_hog_parser(
    path: Path, *, filename: str | None, limits: ExtractLimits
) -> ExtractedDocument:
    """TEST DOUBLE: a parser that tries to hold twice its memory budget."""
    hoard = [bytearray(64 * 1024 * 1024) for _ in range(2 * limits.memory_mb // 64 + 1)]
    raise AssertionError(f"allocated {len(hoard)} blocks past the limit")


def segfault_parser(
    path: Path, *, filename: str | None, limits: ExtractLimits
) -> ExtractedDocument:
    """TEST DOUBLE: a parser whose C code crashes (we send ourselves SIGSEGV)."""
    os.kill(os.getpid(), signal.SIGSEGV)
    time.sleep(10)
    raise AssertionError("unreachable")


def killed_parser(path: Path, *, filename: str | None, limits: ExtractLimits) -> ExtractedDocument:
    """TEST DOUBLE: a parser killed from outside (as the kernel OOM killer would)."""
    os.kill(os.getpid(), signal.SIGKILL)
    time.sleep(10)
    raise AssertionError("unreachable")


def environment_echo_parser(
    path: Path, *, filename: str | None, limits: ExtractLimits
) -> ExtractedDocument:
    """TEST DOUBLE: returns the child's environment as text, to prove no secret reaches it."""
    text = "\n".join(f"{k}={v}" for k, v in sorted(os.environ.items()))
    return ExtractedDocument(mime="text/plain", pages=(Page(1, text),))
