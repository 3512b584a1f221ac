"""One place that turns an extraction failure code into an error with a hint.

The hint is what the person who dropped the file should do next; it ends up
in the failed file's ``.error.json``, so it is written for them, not for us.
"""

from __future__ import annotations

from tidyllm.errors import ExtractionError

HINTS: dict[str, str] = {
    "empty": "The file is empty. Upload a copy that has content.",
    "too_large": "Split the document into smaller files or ask an administrator to raise "
    "the zone's size limit.",
    "too_many_pages": "Split the document into smaller files or ask an administrator to raise "
    "the zone's page limit.",
    "corrupt": "The file is damaged or incomplete. Open it in its usual application, save a "
    "fresh copy and upload that.",
    "encrypted": "The file is password-protected. Remove the password (or save an unprotected "
    "copy) and upload it again.",
    "unsupported_type": "Supported types are PDF, DOCX, XLSX, PPTX, TXT, MD, HTML, JSON and CSV. "
    "Convert the file to one of them.",
    "mislabelled": "The file's content does not match its name. Check that this is the file you "
    "meant to upload and give it the right extension.",
    "zip_bomb": "The file expands to far more data than a normal document. If it is genuine, "
    "save a smaller copy; otherwise delete it.",
    "no_text_layer": "The document is scanned images without a text layer. Install the OCR "
    "extra (pip install 'tidyllm[ocr]') and set `ocr: true` for the zone, or upload a "
    "text-searchable PDF.",
    "timeout": "Parsing took longer than the time limit. Split the document or ask an "
    "administrator to raise the zone's parse_timeout.",
    "out_of_memory": "Parsing needed more memory than the limit. Split the document or ask an "
    "administrator to raise the zone's memory limit.",
    "crashed": "The parser crashed on this file. Save a fresh copy from its usual application "
    "and upload it again; report it if it keeps failing.",
}


def fail(code: str, message: str, *, hint: str | None = None) -> ExtractionError:
    """Build the :class:`ExtractionError` for ``code`` with its standard hint (to ``raise``)."""
    return ExtractionError(code, message, hint=HINTS[code] if hint is None else hint)
