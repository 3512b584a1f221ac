# ruff: noqa
"""The manager imported from the legacy official module's path."""

from scripts.start_unified_sessions import UnifiedSessionManager  # expect: TL602
from scripts.infrastructure.start_unified_sessions import (
    UnifiedSessionManager as USM,  # expect: TL602
)

session_mgr = UnifiedSessionManager()
