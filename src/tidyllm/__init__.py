"""TidyLLM: documents in, governed and searchable knowledge out.

Public names are re-exported here; everything that connects to an outside
service is reached through :class:`UnifiedSessionManager`.
"""

from __future__ import annotations

from tidyllm.errors import (
    CredentialError,
    DatabaseError,
    ObjectStoreError,
    ServiceUnavailable,
    SettingsError,
    TidyLLMError,
)

__version__ = "0.1.0"

__all__ = [
    "CredentialError",
    "DatabaseError",
    "ObjectStoreError",
    "ServiceUnavailable",
    "SettingsError",
    "TidyLLMError",
    "__version__",
]
