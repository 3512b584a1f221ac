"""Decide what a file is from its bytes, and check that against what its name claims.

The name is a claim made by whoever dropped the file; the magic bytes are
evidence. A ``.pdf`` whose bytes are an ELF executable is *mislabelled*, an
``.xlsx`` that is an OLE2 container holding ``EncryptedPackage`` is
*encrypted*, a ``.doc`` is an *unsupported type*. The file name is only ever
used for its extension: it is never opened, joined to a path or echoed.
"""

from __future__ import annotations

import mmap
import zipfile
from dataclasses import dataclass
from pathlib import Path

from tidyllm.extraction.failures import fail

MIME_TYPES: dict[str, str] = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "txt": "text/plain",
    "md": "text/markdown",
    "html": "text/html",
    "json": "application/json",
    "csv": "text/csv",
}

EXTENSIONS: dict[str, str] = {
    ".pdf": "pdf",
    ".docx": "docx",
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
    ".pptx": "pptx",
    ".txt": "txt",
    ".text": "txt",
    ".md": "md",
    ".markdown": "md",
    ".html": "html",
    ".htm": "html",
    ".json": "json",
    ".csv": "csv",
}

TEXT_KINDS = frozenset({"txt", "md", "html", "json", "csv"})
OFFICE_KINDS = frozenset({"docx", "xlsx", "pptx"})

# What the bytes are, by family. Only the first few bytes are needed except
# for zip (central directory) and OLE2 (directory entry names).
_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x7fELF", "an executable (ELF)"),
    (b"MZ", "an executable (Windows)"),
    (b"\xfe\xed\xfa\xce", "an executable (Mach-O)"),
    (b"\xfe\xed\xfa\xcf", "an executable (Mach-O)"),
    (b"\xce\xfa\xed\xfe", "an executable (Mach-O)"),
    (b"\xcf\xfa\xed\xfe", "an executable (Mach-O)"),
    (b"\xca\xfe\xba\xbe", "an executable or Java class"),
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"II*\x00", "a TIFF image"),
    (b"MM\x00*", "a TIFF image"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"BZh", "a bzip2 archive"),
    (b"\xfd7zXZ\x00", "an xz archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"Rar!\x1a\x07", "a RAR archive"),
    (b"\x00asm", "a WebAssembly module"),
)
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ENCRYPTED_PACKAGE = "EncryptedPackage".encode("utf-16-le")
_OFFICE_PARTS = {
    "word/document.xml": "docx",
    "xl/workbook.xml": "xlsx",
    "ppt/presentation.xml": "pptx",
}
_HEAD = 64 * 1024


@dataclass(frozen=True)
class FileType:
    """The format we will parse the file as."""

    kind: str
    mime: str


def extension_of(filename: str) -> str:
    """The lower-cased extension of the last path component, or '' (never raises).

    Whitespace around the name does not count: ``" UPPER .PDF "`` is a ``.pdf``.
    """
    base = filename.replace("\\", "/").rsplit("/", 1)[-1].strip()
    if "." not in base.strip("."):
        return ""
    ext = "." + base.rsplit(".", 1)[-1].strip().lower()
    return ext if len(ext) <= 12 and ext[1:].isalnum() else ".?"


def sniff(path: Path) -> tuple[str, str]:
    """What the bytes are: ``(family, description)``.

    ``family`` is one of our kinds (``pdf``, ``docx``, ``xlsx``, ``pptx``,
    ``text``), or ``encrypted-office``, ``legacy-office``, ``zip``, ``other``
    (a known non-document, described) or ``binary`` (unrecognised bytes).
    """
    with open(path, "rb") as fh:
        head = fh.read(_HEAD)
    family, description = sniff_head(head)
    if family == "zip":
        return _sniff_zip(path)
    if family == "legacy-office":
        with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            if mm.find(_ENCRYPTED_PACKAGE) >= 0:
                return "encrypted-office", "a password-protected Office document"
    return family, description


def sniff_head(head: bytes) -> tuple[str, str]:
    """What the first bytes say (a streamed upload has no file to look into yet).

    As :func:`sniff`, except that a zip is ``zip`` (an Office document or not: that
    is in its central directory, at the end) and an OLE2 file ``legacy-office``
    (encrypted or not).
    """
    if b"%PDF-" in head[:1024]:
        return "pdf", "a PDF document"
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return "zip", "a zip archive"
    if head.startswith(_OLE2):
        return "legacy-office", "a legacy binary Office document (.doc/.xls/.ppt)"
    is_text = _looks_like_text(head)
    for magic, description in _SIGNATURES:
        # "MZ", "BZh", "GIF89a" are also how some prose starts: printable
        # signatures count only when the rest is not text.
        if head.startswith(magic) and not (magic.isascii() and magic.isalnum() and is_text):
            return "other", description
    if is_text:
        return "text", "text"
    return "binary", "unrecognised binary data"


def _sniff_zip(path: Path) -> tuple[str, str]:
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
    except (zipfile.BadZipFile, OSError, EOFError, ValueError):
        return "zip", "a damaged zip archive"
    for part, kind in _OFFICE_PARTS.items():
        if part in names:
            return kind, f"a {kind.upper()} document"
    return "zip", "a zip archive"


def _looks_like_text(head: bytes) -> bool:
    if head.startswith((b"\xff\xfe", b"\xfe\xff", b"\xef\xbb\xbf")):
        return True
    if b"\x00" in head:
        return False
    controls = sum(1 for b in head if b < 0x20 and b not in (0x09, 0x0A, 0x0C, 0x0D, 0x1B))
    return controls <= len(head) * 0.01


def detect(path: Path, filename: str | None = None) -> FileType:
    """The type to parse ``path`` as, or an ``ExtractionError`` saying why not.

    Rules: an unknown extension is ``unsupported_type``; a known extension
    must agree with the bytes (else ``mislabelled``, or ``corrupt`` when the
    bytes are unrecognisable); no extension at all goes by the bytes alone.
    """
    ext = extension_of(filename if filename is not None else path.name)
    family, description = sniff(path)
    if family == "encrypted-office":
        raise fail("encrypted", "the file is a password-protected Office document")
    if ext and ext not in EXTENSIONS:
        raise fail("unsupported_type", f"files of type {ext!r} are not supported")
    if not ext:
        return _from_content(path, family, description)
    claimed = EXTENSIONS[ext]
    if family == "legacy-office" and claimed in OFFICE_KINDS:
        raise fail(
            "unsupported_type",
            "the file is a legacy binary Office document",
            hint="Open it in Office or LibreOffice, save it as .docx/.xlsx/.pptx and upload that.",
        )
    if claimed == family or (claimed in TEXT_KINDS and family == "text"):
        return FileType(claimed, MIME_TYPES[claimed])
    if family == "binary" or (family == "zip" and claimed in OFFICE_KINDS):
        raise fail("corrupt", f"the file is named {ext} but its content is not a valid {ext} file")
    raise fail("mislabelled", f"the file is named {ext} but its content is {description}")


def _from_content(path: Path, family: str, description: str) -> FileType:
    if family in MIME_TYPES:
        return FileType(family, MIME_TYPES[family])
    if family == "text":
        kind = _text_kind(path)
        return FileType(kind, MIME_TYPES[kind])
    raise fail("unsupported_type", f"the file has no extension and its content is {description}")


def _text_kind(path: Path) -> str:
    with open(path, "rb") as fh:
        start = fh.read(1024).lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if start.startswith((b"<!doctype html", b"<html")):
        return "html"
    if start[:1] in (b"{", b"["):
        return "json"
    return "txt"
