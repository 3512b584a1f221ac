"""MLflow tracking that survives a tracking-server outage.

:class:`Tracker` logs complete runs (params, metrics, tags, artifacts) through
an MLflow client made by the session manager; when MLflow is unreachable it
buffers runs on disk and replays them later. See ``tracker.py``.
"""

from tidyllm.tracking.buffer import RunBuffer
from tidyllm.tracking.outage import FAIL_FAST_ENV, apply_fail_fast_env, is_outage
from tidyllm.tracking.run import RUN_KEY_TAG, PreparedRun, prepare_run
from tidyllm.tracking.tracker import RunRecord, Tracker

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
