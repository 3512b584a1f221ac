"""One error hierarchy for TidyLLM.

Every error the library raises derives from :class:`TidyLLMError`, so callers
(the CLI, the API) can map them once. Driver errors are wrapped at the
boundary (``raise ... from exc``) with a message that names the resource and
never contains a secret.
"""

from __future__ import annotations


class TidyLLMError(Exception):
    """Root of every error TidyLLM raises on purpose."""


class SettingsError(TidyLLMError):
    """A setting is missing, unknown, of the wrong type, or unreadable."""


class CredentialError(TidyLLMError):
    """A secret is missing, or the credential store cannot be opened or decrypted."""


class ServiceUnavailable(TidyLLMError):
    """An outside service (S3, PostgreSQL, MLflow, LLM) cannot be reached or refused us."""

    def __init__(self, service: str, detail: str) -> None:
        super().__init__(f"{service} is unavailable: {detail}")
        self.service = service
        self.detail = detail


class ObjectStoreError(TidyLLMError):
    """An object-store operation failed."""


class InvalidKey(ObjectStoreError, ValueError):
    """An object key is unsafe or malformed (traversal, control characters, too long)."""


class ObjectNotFound(ObjectStoreError, KeyError):
    """The object does not exist."""

    def __str__(self) -> str:  # KeyError quotes its argument; we want a plain sentence.
        return str(self.args[0]) if self.args else "object not found"


class ObjectExists(ObjectStoreError):
    """A conditional put found the key already present."""


class DatabaseError(TidyLLMError):
    """A database operation failed (wrapped driver error)."""


class MigrationError(DatabaseError):
    """Schema migrations could not be applied."""


class TrackingError(TidyLLMError):
    """An MLflow tracking operation failed and could not be buffered."""
