"""Drop zones: folders where people drop files, and the workers that process them.

See docs/dropzones.md. The ledger (PostgreSQL) is the queue; workers are
stateless; every file ends in exactly one of incoming/, processed/ or failed/.
"""

from tidyllm.dropzones.api import Dropped, UnifiedDropZones, ZoneInfo
from tidyllm.dropzones.ledger import FileRow, Ledger
from tidyllm.dropzones.pipeline import (
    BUILTIN_PIPELINES,
    Pipeline,
    Step,
    StepContext,
    register_step,
    resolve_pipeline,
)
from tidyllm.dropzones.worker import Worker, WorkerSummary
from tidyllm.dropzones.zone import UnknownZone, Zone

__all__ = [
    "BUILTIN_PIPELINES",
    "Dropped",
    "FileRow",
    "Ledger",
    "Pipeline",
    "Step",
    "StepContext",
    "UnifiedDropZones",
    "UnknownZone",
    "Worker",
    "WorkerSummary",
    "Zone",
    "ZoneInfo",
    "register_step",
    "resolve_pipeline",
]
