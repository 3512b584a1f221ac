"""archcheck: prove that only the session manager connects to outside services.

``check()`` finds call sites that bypass :class:`tidyllm.UnifiedSessionManager`;
``migrate()`` rewrites the patterns that have a safe rewrite.
"""

from __future__ import annotations

from tidyllm.archcheck.checker import CheckResult, check
from tidyllm.archcheck.config import CheckConfig, find_pyproject, load_config
from tidyllm.archcheck.findings import Finding
from tidyllm.archcheck.rules import RULES, Rule

__all__ = [
    "RULES",
    "CheckConfig",
    "CheckResult",
    "Finding",
    "Rule",
    "check",
    "find_pyproject",
    "load_config",
]
