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


def __getattr__(name: str):
    # Lazy: `import tidyllm` stays cheap (no boto3/psycopg import) until a manager is needed.
    if name == "UnifiedSessionManager":
        from tidyllm.session import UnifiedSessionManager

        return UnifiedSessionManager
    if name == "UnifiedDropZones":
        from tidyllm.dropzones import UnifiedDropZones

        return UnifiedDropZones
    if name in {"Settings", "load_settings"}:
        from tidyllm import settings

        return getattr(settings, name)
    raise AttributeError(f"module 'tidyllm' has no attribute {name!r}")


__all__ = [
    "CredentialError",
    "DatabaseError",
    "ObjectStoreError",
    "ServiceUnavailable",
    "Settings",
    "SettingsError",
    "TidyLLMError",
    "UnifiedDropZones",
    "UnifiedSessionManager",
    "__version__",
    "load_settings",
]
