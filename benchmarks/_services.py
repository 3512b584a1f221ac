"""Make the test suite's real-service helpers importable from benchmarks."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from services import EmbeddedPostgres, MlflowServer, MotoS3

__all__ = ["EmbeddedPostgres", "MlflowServer", "MotoS3"]
