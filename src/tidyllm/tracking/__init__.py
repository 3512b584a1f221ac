"""MLflow tracking that survives a tracking-server outage.

:class:`Tracker` logs complete runs (params, metrics, tags, artifacts) through
an MLflow client made by the session manager; when MLflow is unreachable it
buffers runs on disk and replays them later. See ``tracker.py``.

The MLflow-dependent names load lazily: importing MLflow costs seconds, and
reading the buffer (``RunBuffer``, for ``doctor``) does not need it.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from tidyllm.tracking.buffer import RunBuffer
from tidyllm.tracking.run import RUN_KEY_TAG, PreparedRun, prepare_run

_LAZY = {
    "Tracker": "tidyllm.tracking.tracker",
    "RunRecord": "tidyllm.tracking.tracker",
    "FAIL_FAST_ENV": "tidyllm.tracking.outage",
    "apply_fail_fast_env": "tidyllm.tracking.outage",
    "is_outage": "tidyllm.tracking.outage",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'tidyllm.tracking' has no attribute {name!r}")


__all__ = [
    "FAIL_FAST_ENV",
    "RUN_KEY_TAG",
    "PreparedRun",
    "RunBuffer",
    "RunRecord",
    "Tracker",
    "apply_fail_fast_env",
    "is_outage",
    "prepare_run",
]
