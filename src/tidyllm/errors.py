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


class CheckConfigError(TidyLLMError):
    """The ``[tool.tidyllm.check]`` configuration or a baseline file is invalid."""


class ObjectTooLarge(ObjectStoreError):
    """An object is larger than the caller allowed (``read_bytes(max_bytes=...)``) or S3 allows."""


class InvalidRunData(TrackingError, ValueError):
    """A run handed to the tracker is malformed (bad name, non-numeric metric, unsafe path)."""


class BufferedRunCorrupt(TrackingError):
    """A run in the tracking buffer cannot be read back; it names the file."""

    def __init__(self, path: object, reason: str) -> None:
        super().__init__(f"buffered MLflow run {path} is unreadable: {reason}")
        self.path = path
        self.reason = reason


class ReplayError(TrackingError):
    """Some buffered runs could not be replayed and were moved aside (never deleted)."""

    def __init__(self, sent: int, failures: list[tuple[object, object, str]]) -> None:
        lines = "; ".join(f"{src} ({why}) moved to {dst}" for src, dst, why in failures)
        super().__init__(
            f"{len(failures)} buffered MLflow run(s) could not be replayed: {lines}"
            f" ({sent} other run(s) were sent)"
        )
        self.sent = sent
        self.failures = failures


class ExtractionError(TidyLLMError):
    """A document could not be turned into text; ``code`` says why, ``hint`` what to do.

    The drop-zone worker writes ``code``, ``str(error)`` and ``hint`` into the
    failed file's error record, so each must be understandable on its own and
    must never quote the document's content.
    """

    CODES = frozenset(
        {
            "empty",
            "too_large",
            "too_many_pages",
            "corrupt",
            "encrypted",
            "unsupported_type",
            "mislabelled",
            "zip_bomb",
            "no_text_layer",
            "timeout",
            "out_of_memory",
            "crashed",
        }
    )

    def __init__(self, code: str, message: str, *, hint: str = "") -> None:
        if code not in self.CODES:
            raise ValueError(f"unknown extraction error code {code!r}")
        super().__init__(message)
        self.code = code
        self.hint = hint

    def __reduce__(self):  # keep code and hint when pickled (multiprocessing, logging handlers)
        return (_rebuild_extraction_error, (self.code, str(self), self.hint))


def _rebuild_extraction_error(code: str, message: str, hint: str) -> ExtractionError:
    return ExtractionError(code, message, hint=hint)


class EmbeddingError(TidyLLMError):
    """An embedder could not load its model or tokenizer, or was given input it cannot embed."""


class ChunkingError(TidyLLMError, ValueError):
    """The chunker was given invalid settings or pages it cannot chunk."""


class KnowledgeError(TidyLLMError):
    """A knowledge-domain operation (indexing, search, answering) failed."""


class DomainNotFound(KnowledgeError, LookupError):
    """No knowledge domain has this name."""


class DomainEmpty(KnowledgeError):
    """A question was asked of a knowledge domain that holds no documents yet."""


class DomainExists(KnowledgeError):
    """A knowledge domain with this name already exists."""


class EmbedderMismatch(KnowledgeError):
    """A domain's vectors come from one embedder; another one was offered (never mixed)."""


class SearchError(KnowledgeError, ValueError):
    """A search request is invalid (empty query, bad filter, bad k)."""


class GenerationError(KnowledgeError):
    """The LLM could not produce an answer (refused, malformed reply, unreachable)."""


class DocumentNotFound(KnowledgeError, LookupError):
    """No document with this id in this domain (another domain's id is not found either)."""


class ChatSessionNotFound(KnowledgeError, LookupError):
    """No chat session with this id that the actor may use (another user's session, or one
    of a domain not granted, is not found either)."""


class InvalidCursor(KnowledgeError, ValueError):
    """A page cursor that this server did not hand out for this query (garbage or edited)."""


class OriginalNotKept(KnowledgeError, LookupError):
    """A document whose original file is not in any zone's processed/ folder (any more)."""


class NotReindexable(KnowledgeError):
    """A document that did not come through a drop zone: there is no original to run again."""


class DropZoneError(TidyLLMError):
    """A drop-zone operation failed (unknown zone, bad pipeline, refused drop)."""


class ZoneNotFound(SettingsError, LookupError):
    """No zone of this name (or one whose domain the actor may not see: the same error)."""


class LedgerFileNotFound(DropZoneError, LookupError):
    """No file with this ledger id (in this zone, visible to the actor)."""


class FileStateConflict(DropZoneError):
    """The file is not in a state that allows the request (retry of a file not failed)."""


class FileRejected(DropZoneError):
    """A dropped file is bad input: it fails at once (no retry) with ``code`` and ``hint``.

    ``code`` is an :class:`ExtractionError` code or a drop-zone one (``invalid_name``,
    ``symlink``, ``not_a_file``, ``type_not_allowed``, ``index_unavailable``, ``step_failed``).
    """

    def __init__(self, code: str, message: str, *, hint: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.hint = hint


class AccessError(TidyLLMError):
    """Identity and access: a bad credential, a refused action, an invalid user or token.

    ``message`` says what went wrong and ``hint`` what to do; ``str(error)`` joins them so
    the CLI prints both on one line, and the HTTP layer can show them apart.
    """

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(f"{message}; {hint}" if hint else message)
        self.message = message
        self.hint = hint


class AuthError(AccessError):
    """A credential (password or token) was not accepted; never says which part was wrong."""


class PermissionDenied(AccessError):
    """The actor is known and may see the resource, but its role does not allow the action."""
