"""Run an extraction in a child process so a crash, hang or memory blow-up cannot hurt us.

The child (``python -m tidyllm.extraction.child``) sets ``RLIMIT_DATA``/``RLIMIT_AS`` (memory),
``RLIMIT_CPU`` and ``RLIMIT_CORE`` on itself before touching the file, gets the
request as JSON on stdin and answers with JSON on stdout. The parent adds a
wall-clock timeout and kills the child's whole process group when it expires.
How the child ended becomes an error code:

* answered with an error           -> that error (code, message, hint)
* ``MemoryError`` / bad_alloc        -> ``out_of_memory``
* wall clock or ``SIGXCPU``          -> ``timeout``
* any other signal or no answer      -> ``crashed``

The child gets a minimal environment (no credentials: a parser exploit must
not find secrets to steal) plus the parent's ``sys.path`` so it imports the
same code as the parent.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
from dataclasses import asdict
from os import PathLike
from pathlib import Path

from tidyllm.errors import ExtractionError
from tidyllm.extraction.failures import fail
from tidyllm.extraction.limits import ExtractLimits, check_size
from tidyllm.extraction.model import ExtractedDocument

log = logging.getLogger(__name__)

DEFAULT_RUNNER = "tidyllm.extraction.extract:extract"
# Interpreter start-up and imports happen before the child's own deadline starts.
STARTUP_GRACE_SECONDS = 5.0
_ENV_KEEP = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR", "TZ", "SYSTEMROOT")
_OOM_MARKERS = (b"MemoryError", b"bad_alloc", b"Cannot allocate memory", b"out of memory")


def extract_isolated(
    path: str | PathLike[str],
    *,
    filename: str | None = None,
    limits: ExtractLimits = ExtractLimits(),  # noqa: B008 - frozen, so a shared default is safe
    runner: str = DEFAULT_RUNNER,
) -> ExtractedDocument:
    """Like :func:`~tidyllm.extraction.extract.extract`, but in a limited child process.

    ``runner`` (``"module:function"``, same signature as ``extract``) is what
    the child calls; it exists so tests can substitute a named test double.
    """
    path = Path(path).absolute()
    check_size(path, limits)  # refuse the obvious without spawning anything
    request = {
        "path": str(path),
        "filename": filename,
        "limits": asdict(limits),
        "runner": runner,
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "tidyllm.extraction.child"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_child_env(),
        start_new_session=True,  # its own process group, so we can kill all of it
        close_fds=True,
    )
    try:
        out, err = proc.communicate(
            json.dumps(request).encode(), timeout=limits.max_seconds + STARTUP_GRACE_SECONDS
        )
    except subprocess.TimeoutExpired:
        _kill(proc)
        proc.communicate()
        raise fail("timeout", f"extraction took longer than {limits.max_seconds:g} s") from None
    finally:
        if proc.returncode is None:  # interrupted (KeyboardInterrupt...): leave no orphan
            _kill(proc)
            proc.wait()
    if err:
        log.debug("extraction child stderr: %s", err[-4000:].decode(errors="replace"))
    return _outcome(proc.returncode, out, err, limits)


def _outcome(returncode: int, out: bytes, err: bytes, limits: ExtractLimits) -> ExtractedDocument:
    if returncode < 0:
        sig = -returncode
        name = _signal_name(sig)
        if sig == signal.SIGXCPU:
            raise fail("timeout", f"extraction used more than {limits.max_seconds:g} s of CPU")
        if any(marker in err for marker in _OOM_MARKERS):
            raise fail("out_of_memory", f"parsing needed more than {limits.memory_mb} MB of memory")
        if sig == signal.SIGKILL:
            raise fail(
                "crashed", "the parser was killed (SIGKILL; the system may be out of memory)"
            )
        raise fail("crashed", f"the parser crashed ({name})")
    try:
        response = json.loads(out)
    except ValueError:
        if any(marker in err for marker in _OOM_MARKERS):
            raise fail(
                "out_of_memory", f"parsing needed more than {limits.memory_mb} MB of memory"
            ) from None
        raise fail("crashed", f"the parser exited ({returncode}) without a result") from None
    if "error" in response:
        error = response["error"]
        raise ExtractionError(error["code"], error["message"], hint=error.get("hint", ""))
    return ExtractedDocument.from_dict(response["document"])


def _child_env() -> dict[str, str]:
    env = {k: v for k in _ENV_KEEP if (v := os.environ.get(k)) is not None}
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p and os.path.isdir(p))
    # Thread pools reserve address space per thread; keep them small under RLIMIT_AS.
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env[name] = os.environ.get(name, "2")
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["MALLOC_ARENA_MAX"] = "2"  # fewer 64 MiB per-thread arenas reserved under the limits
    return env


def _kill(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):  # already gone
        os.killpg(proc.pid, signal.SIGKILL)


def _signal_name(sig: int) -> str:
    try:
        return signal.Signals(sig).name
    except ValueError:
        return f"signal {sig}"
