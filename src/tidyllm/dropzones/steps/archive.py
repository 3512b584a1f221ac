"""``archive``: record the file and move it to processed/, nothing else."""

from __future__ import annotations

from typing import Any

from tidyllm.dropzones.pipeline import StepContext


class ArchiveStep:
    """Does no work of its own; the worker records and moves the file."""

    name = "archive"
    version = "1"

    def run(self, ctx: StepContext) -> dict[str, Any]:
        return {"archived": True, "bytes": ctx.size}
