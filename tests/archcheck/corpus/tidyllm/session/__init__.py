# ruff: noqa
"""The allowed place; re-exports the manager."""

from tidyllm.session.manager import UnifiedSessionManager
