"""Limits on what one extraction may consume, and the checks that are cheap to do first.

Size is checked from ``stat`` before a byte is read (a sparse 100 GiB file
costs nothing to refuse). Zip containers (DOCX/XLSX/PPTX) are checked from
their central directory before any member is inflated. Time is enforced
cooperatively in-process by :class:`Deadline` and for real by the child
process's wall clock and ``RLIMIT_CPU``; memory only in the child
(``RLIMIT_AS``), see :mod:`tidyllm.extraction.isolate`.
"""

from __future__ import annotations

import os
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

from tidyllm.extraction.failures import fail

MiB = 1024 * 1024


@dataclass(frozen=True)
class ExtractLimits:
    """Per-document limits. The defaults suit documents people upload by hand.

    ``max_uncompressed_bytes`` and ``max_compression_ratio`` guard the zip
    containers of Office files: the sum of the members' declared sizes, and
    the inflate ratio of any member larger than ``ratio_floor_bytes``
    (tiny members can legitimately compress very well).

    ``ocr_memory_mb`` replaces ``max_memory_mb`` when it is larger and OCR is
    on: the OCR models need more than text extraction (measured on the corpus
    patent's first page: fails at 1024 MB, passes at 1536 MB).
    """

    max_bytes: int = 100 * MiB
    max_pages: int = 2000
    max_seconds: float = 60.0
    max_memory_mb: int = 1024
    ocr_memory_mb: int = 1536
    max_uncompressed_bytes: int = 512 * MiB
    max_compression_ratio: float = 200.0
    ratio_floor_bytes: int = 1 * MiB
    max_zip_members: int = 10_000
    ocr: bool = False

    @property
    def memory_mb(self) -> int:
        """The memory budget that applies, given whether OCR is on."""
        return max(self.max_memory_mb, self.ocr_memory_mb) if self.ocr else self.max_memory_mb

    def __post_init__(self) -> None:
        for name in ("max_bytes", "max_pages", "max_memory_mb", "max_uncompressed_bytes"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")
        if self.max_seconds <= 0:
            raise ValueError("max_seconds must be positive")


class Deadline:
    """A wall-clock budget that parsers check between pages, sheets and slides."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._end = time.monotonic() + seconds

    def check(self) -> None:
        """Raise ``timeout`` once the budget is spent."""
        if time.monotonic() > self._end:
            raise fail("timeout", f"extraction took longer than {self.seconds:g} s")


def check_size(path: Path, limits: ExtractLimits) -> int:
    """Refuse empty and oversized files from ``stat`` alone; return the size."""
    try:
        st = os.stat(path)
    except FileNotFoundError as exc:
        raise fail("corrupt", "the file does not exist", hint="Upload the file again.") from exc
    except OSError as exc:
        raise fail("corrupt", f"the file cannot be read ({exc.strerror})") from exc
    if not os.path.isfile(path):
        raise fail("unsupported_type", "not a regular file")
    if st.st_size == 0:
        raise fail("empty", "the file is empty (0 bytes)")
    if st.st_size > limits.max_bytes:
        raise fail(
            "too_large",
            f"the file is {st.st_size / MiB:.1f} MiB; "
            f"the limit is {limits.max_bytes / MiB:.1f} MiB",
        )
    return st.st_size


def check_zip(path: Path, limits: ExtractLimits) -> None:
    """Refuse a zip container that is corrupt, encrypted or a decompression bomb.

    Only the central directory is read. A member that lies about its size is
    still bounded by the child's memory limit.
    """
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError) as exc:
        raise fail("corrupt", f"the zip container is damaged ({exc})") from exc
    if len(infos) > limits.max_zip_members:
        raise fail("zip_bomb", f"the container has {len(infos)} members")
    total = 0
    for info in infos:
        if info.flag_bits & 0x1:
            raise fail("encrypted", "the container's members are encrypted")
        total += info.file_size
        if info.file_size > limits.ratio_floor_bytes:
            ratio = info.file_size / max(info.compress_size, 1)
            if ratio > limits.max_compression_ratio:
                raise fail(
                    "zip_bomb",
                    f"a member expands {ratio:.0f}-fold (limit {limits.max_compression_ratio:g})",
                )
    if total > limits.max_uncompressed_bytes:
        raise fail(
            "zip_bomb",
            f"the container expands to {total / MiB:.0f} MiB "
            f"(limit {limits.max_uncompressed_bytes / MiB:.0f} MiB)",
        )
