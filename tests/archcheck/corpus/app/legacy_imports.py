# ruff: noqa
"""Imports of the legacy managers."""

from legacy.db import DatabaseManager as DM  # expect: TL601
from scripts.s3_session_manager import S3SessionManager  # expect: TL601
from tidyllm_legacy import start_unified_sessions  # expect: TL601
