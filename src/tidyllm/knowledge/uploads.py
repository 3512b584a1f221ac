"""Uploads into a domain: one file stream into the domain's ingest zone, and its ledger state.

What the HTTP upload route calls for each file (and what any other front end may
call): the actor needs the editor role in the domain; the name is reduced to a safe
base name; the type is decided from the first bytes (a ``.pdf`` that is a zip is
refused before anything is stored); the bytes are streamed by
``UnifiedDropZones.drop_data`` into ``ingest-<domain>``'s incoming/ under
``upload/<name>`` (a second upload of that name is a new version of the same
document); the ledger id is returned and the upload audited. Processing stays with
the workers.

A stream that raises (too large, client gone) leaves nothing: the object store
writes to a temp object and only links it into incoming/ when complete, and the
ledger row is written after that.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, BinaryIO, Protocol

from tidyllm.access.actor import Actor, acting
from tidyllm.access.audit import record
from tidyllm.errors import (
    DropZoneError,
    InvalidKey,
    KnowledgeError,
    LedgerFileNotFound,
    ObjectExists,
    ObjectNotFound,
    TidyLLMError,
)
from tidyllm.extraction.detect import (
    EXTENSIONS,
    MIME_TYPES,
    OFFICE_KINDS,
    TEXT_KINDS,
    extension_of,
    sniff_head,
)
from tidyllm.knowledge.domains import get_domain
from tidyllm.knowledge.sidecars import is_metadata_file
from tidyllm.objectstore.keys import validate_key

UPLOAD_PREFIX = "upload/"  # keys of uploaded files in a domain's ingest zone
HEAD_BYTES = 64 * 1024  # what type detection looks at (as the extraction layer's sniff)
_WINDOWS_RESERVED = re.compile(r"^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])(\..*)?$", re.I)


class UploadRefused(KnowledgeError):
    """An upload's file was refused before anything was stored (name, type, empty)."""

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(message)
        self.hint = hint


class UploadNameTaken(ObjectExists):
    """A file of this name is still waiting to be processed in the domain's ingest zone."""

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(message)
        self.hint = hint


class UploadNotFound(ObjectNotFound):
    """No upload with this id that the actor may see (the same error for both)."""


class Peekable(Protocol):
    """A binary stream that can show its first bytes without consuming them."""

    def peek(self, n: int) -> bytes: ...

    def read(self, n: int = -1) -> bytes: ...


@dataclass(frozen=True)
class Upload:
    """One stored upload: its ledger id, where it is, what it is."""

    id: int
    domain: str
    name: str
    key: str
    size: int
    content_type: str


def safe_name(filename: str) -> str:
    """The base name of a client's file name, or :class:`UploadRefused` when it is unsafe.

    Folders are dropped (``../../etc/passwd`` is ``passwd``); control characters, NUL,
    bidirectional overrides, names over 255 bytes (the object-key rules) and Windows
    device names (``CON.txt``) are refused rather than rewritten, so what is stored is
    exactly what the user sees.
    """
    base = filename.replace("\\", "/").rsplit("/", 1)[-1].strip()
    if base in ("", ".", ".."):
        raise UploadRefused(
            f"the file name {filename[:80]!r} has no usable base name",
            hint="give the file a name such as report.pdf",
        )
    if _WINDOWS_RESERVED.match(base.rstrip(" .")):
        raise UploadRefused(
            f"the file name {base[:80]!r} is a reserved device name on Windows",
            hint="rename the file",
        )
    try:
        validate_key(base)
    except InvalidKey as exc:
        raise UploadRefused(
            f"the file name is not accepted: {exc}",
            hint="rename the file: at most 255 bytes, no control or direction characters",
        ) from None
    return base


def content_type(head: bytes, name: str) -> str:
    """The MIME type the first bytes prove, checked against the name's extension.

    The name is a claim, the bytes are evidence: a ``.pdf`` whose bytes are a zip is
    refused here, an unknown type too, before anything is stored.
    """
    if not head:
        raise UploadRefused(f"file {name!r} is empty; nothing was stored")
    family, description = sniff_head(head)
    ext = extension_of(name)
    claimed = EXTENSIONS.get(ext) if ext else None
    if ext and claimed is None:
        raise UploadRefused(
            f"files of type {ext!r} are not supported",
            hint="upload PDF, Word, Excel, PowerPoint, text, Markdown, HTML, JSON or CSV",
        )
    if claimed is None:
        found = "text" if family == "text" else family
        kinds = {"pdf": "pdf", "text": "txt"}
        if found in kinds:
            return MIME_TYPES[kinds[found]]
        raise UploadRefused(f"file {name!r} has no extension and its content is {description}")
    if claimed == family or (claimed in TEXT_KINDS and family == "text"):
        return MIME_TYPES[claimed]
    if claimed in OFFICE_KINDS and family == "zip":
        return MIME_TYPES[claimed]  # the worker checks the zip's parts
    raise UploadRefused(
        f"file {name!r} is named {ext} but its content is {description}; nothing was stored",
        hint="check that this is the file you meant, or give it the right extension",
    )


def check_editor(sm: Any, domain: str, actor: Actor | None) -> str:
    """The domain's ingest zone, once the actor is known to be an editor there."""
    from tidyllm.dropzones.api import ingest_zone_name

    with sm.connection() as conn:
        get_domain(conn, domain, actor=actor, need="editor")
    return ingest_zone_name(domain)


def upload_file(
    sm: Any,
    domain: str,
    data: Peekable,
    filename: str,
    *,
    actor: Actor | None = None,
    client: str | None = None,
) -> Upload:
    """Stream one file into ``domain``'s ingest zone; its ledger id, or an error and nothing.

    ``data`` is read once, to its end, by the object store (never held whole). Stored
    and refused files are both audited (``upload.store``, ``upload.refuse``).
    """
    zone = check_editor(sm, domain, actor)
    try:
        upload = _store(sm, domain, zone, data, filename)
    except TidyLLMError as exc:
        _audit(sm, actor, "upload.refuse", domain, {"error": type(exc).__name__}, client)
        raise
    detail = {"file_id": upload.id, "name": upload.name, "size": upload.size}
    _audit(sm, actor, "upload.store", domain, {**detail, "type": upload.content_type}, client)
    return upload


def _audit(
    sm: Any, actor: Actor | None, action: str, domain: str, detail: dict, client: str | None
) -> None:
    with sm.connection() as conn:
        record(conn, actor, action, f"domain:{domain}", detail, client)


def _store(sm: Any, domain: str, zone: str, data: Peekable, filename: str) -> Upload:
    from tidyllm.dropzones.api import UnifiedDropZones

    name = safe_name(filename)
    if is_metadata_file(name):  # issue 13: sidecars describe files; detection never takes them
        raise UploadRefused(
            f"{name[:80]!r} is a metadata sidecar or manifest name, not a document",
            hint="upload the document itself; sidecars are read beside files in a folder "
            "(`tidyllm ingest`) or a drop zone's incoming/ folder",
        )
    mime = content_type(data.peek(HEAD_BYTES), name)
    zones = UnifiedDropZones(sm)
    try:
        dropped = zones.drop_data(_as_stream(data), zone=zone, name=UPLOAD_PREFIX + name)
    except DropZoneError as exc:
        if isinstance(exc.__context__, ObjectExists):
            raise UploadNameTaken(
                f"a file named {name!r} is still waiting to be processed in domain {domain!r}",
                hint="wait until it is processed, or upload it under another name",
            ) from None
        raise
    # drop_data recorded the row (or a watcher did just before): the newest of this key
    file_id = max(row.id for row in zones.ledger.by_key(UPLOAD_PREFIX + name, zone))
    return Upload(file_id, domain, name, dropped.key, dropped.size, mime)


def _as_stream(data: Peekable) -> BinaryIO:
    return data  # type: ignore[return-value]  # read() is all the object store uses


def upload_history(sm: Any, file_id: int, *, actor: Actor | None = None) -> dict[str, Any]:
    """An upload's ledger row and events, if the actor may see its domain.

    The drop zones' own grant check decides (:meth:`UnifiedDropZones.history`): a file
    of a domain the actor was not granted is :class:`UploadNotFound`, exactly like an
    id that does not exist. Files of declared (non-domain) zones: admins only.
    """
    from tidyllm.dropzones.api import UnifiedDropZones

    checked = None if acting(actor).is_admin else actor
    try:
        return UnifiedDropZones(sm).history(file_id, actor=checked)[0]
    except LedgerFileNotFound:
        raise UploadNotFound(f"no upload with id {file_id}") from None
