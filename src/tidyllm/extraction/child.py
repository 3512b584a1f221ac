"""The child side of :mod:`tidyllm.extraction.isolate`: limit myself, extract, answer in JSON.

Run as ``python -m tidyllm.extraction.child`` with a JSON request on stdin.
Limits are set before the runner (and any parsing library) is imported.
Anything a library prints goes to stderr so stdout carries only the answer.
"""

from __future__ import annotations

import importlib
import json
import math
import os
import resource
import sys
from pathlib import Path
from typing import Any

from tidyllm.errors import ExtractionError
from tidyllm.extraction.failures import HINTS
from tidyllm.extraction.limits import ExtractLimits

MiB = 1024 * 1024
CPU_GRACE_SECONDS = 5


def apply_limits(limits: ExtractLimits) -> None:
    """Cap memory, CPU time and core dumps for this process.

    ``max_memory_mb`` caps ``RLIMIT_DATA`` (private writable memory: the heap,
    what a parser actually fills). ``RLIMIT_AS`` counts address space that is
    reserved but never used (shared libraries, malloc arenas, thread stacks):
    OCR on one patent page peaks at 720 MB resident but 2.0 GB of address
    space, so ``RLIMIT_AS`` is only a backstop at twice the budget plus 1 GiB.
    """
    memory = limits.memory_mb * MiB
    resource.setrlimit(resource.RLIMIT_DATA, (memory, memory))
    backstop = 2 * memory + 1024 * MiB
    resource.setrlimit(resource.RLIMIT_AS, (backstop, backstop))
    # CPU time adds up over threads (onnxruntime uses every core), so the cap
    # is the wall-clock budget times the cores: a backstop, not the timer.
    cpu = math.ceil((limits.max_seconds + CPU_GRACE_SECONDS) * (os.cpu_count() or 1))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))  # SIGXCPU, then SIGKILL
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # a core could hold document content


def _error(code: str, message: str, hint: str | None = None) -> dict[str, Any]:
    return {
        "error": {"code": code, "message": message, "hint": HINTS[code] if hint is None else hint}
    }


def _run(request: dict[str, Any]) -> dict[str, Any]:
    limits = ExtractLimits(**request["limits"])
    apply_limits(limits)
    module_name, _, func_name = request["runner"].partition(":")
    runner = getattr(importlib.import_module(module_name), func_name)
    try:
        document = runner(Path(request["path"]), filename=request["filename"], limits=limits)
        return {"document": document.to_dict()}
    except ExtractionError as exc:
        return _error(exc.code, str(exc), exc.hint)
    except MemoryError:
        return _error("out_of_memory", f"parsing needed more than {limits.memory_mb} MB")


def main() -> int:
    """Read the request, answer on the original stdout; exit 0 whenever we could answer."""
    answer_fd = os.dup(1)
    os.dup2(2, 1)
    try:
        response = _run(json.loads(sys.stdin.buffer.read()))
    except MemoryError:
        response = _error("out_of_memory", "parsing ran out of memory")
    except Exception as exc:  # a bug or a library failure: report it, do not hide it
        response = _error("crashed", f"the extraction child failed ({type(exc).__name__})")
    with os.fdopen(answer_fd, "wb") as answer:
        answer.write(json.dumps(response).encode())
    return 0


if __name__ == "__main__":
    sys.exit(main())
