"""The session package: the only place that constructs clients for outside services."""

from tidyllm.session.health import HealthResult
from tidyllm.session.manager import LLMHandle, UnifiedSessionManager

__all__ = ["HealthResult", "LLMHandle", "UnifiedSessionManager"]
