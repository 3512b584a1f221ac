"""Document extraction: text and structure, with 1-based physical page numbers.

``extract()`` runs in-process; ``extract_isolated()`` runs the same thing in
a child process with memory, CPU and wall-clock limits, and is what anything
that handles untrusted uploads (the drop-zone worker) should call. Both return
an :class:`ExtractedDocument` or raise :class:`ExtractionError` with a
``code`` and a ``hint``. See docs/extraction.md.
"""

from tidyllm.errors import ExtractionError
from tidyllm.extraction.detect import MIME_TYPES, FileType, detect
from tidyllm.extraction.extract import extract
from tidyllm.extraction.isolate import extract_isolated
from tidyllm.extraction.limits import ExtractLimits
from tidyllm.extraction.model import Block, ExtractedDocument, Page
from tidyllm.extraction.ocr import ocr_available

__all__ = [
    "MIME_TYPES",
    "Block",
    "ExtractLimits",
    "ExtractedDocument",
    "ExtractionError",
    "FileType",
    "Page",
    "detect",
    "extract",
    "extract_isolated",
    "ocr_available",
]
