"""``extract()``: one document in, pages of text out, or an ``ExtractionError``.

In-process and cooperative: size is checked before reading, the type is
checked against the name, and parsers check a deadline between pages. It
cannot stop a parser that hangs inside C code or eats memory; untrusted
files should go through :func:`tidyllm.extraction.isolate.extract_isolated`,
which runs this same function in a child process with hard limits.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from os import PathLike
from pathlib import Path

from tidyllm.errors import ExtractionError
from tidyllm.extraction.detect import detect
from tidyllm.extraction.failures import fail
from tidyllm.extraction.htmltext import extract_html
from tidyllm.extraction.limits import Deadline, ExtractLimits, check_size
from tidyllm.extraction.model import ExtractedDocument
from tidyllm.extraction.office import extract_docx, extract_pptx, extract_xlsx
from tidyllm.extraction.pdf import extract_pdf
from tidyllm.extraction.text import extract_csv, extract_json, extract_md, extract_txt

Parser = Callable[[Path, ExtractLimits, Deadline], ExtractedDocument]

PARSERS: dict[str, Parser] = {
    "pdf": extract_pdf,
    "docx": extract_docx,
    "xlsx": extract_xlsx,
    "pptx": extract_pptx,
    "txt": extract_txt,
    "md": extract_md,
    "html": extract_html,
    "json": extract_json,
    "csv": extract_csv,
}

# pdfium is not thread-safe and OCR already uses every core: one document at a time.
_LOCK = threading.Lock()


def extract(
    path: str | PathLike[str],
    *,
    filename: str | None = None,
    limits: ExtractLimits = ExtractLimits(),  # noqa: B008 - frozen, so a shared default is safe
) -> ExtractedDocument:
    """Extract ``path``; ``filename`` is the name the file was uploaded under (for its type).

    Raises :class:`~tidyllm.errors.ExtractionError` with a ``code`` for every
    failure, including bugs in a parser (``crashed``); never anything else.
    """
    path = Path(path)
    deadline = Deadline(limits.max_seconds)
    check_size(path, limits)
    try:
        file_type = detect(path, filename)
    except OSError as exc:
        raise fail("corrupt", f"the file cannot be read ({exc.strerror})") from exc
    parser = PARSERS[file_type.kind]
    with _LOCK:
        try:
            return parser(path, limits, deadline)
        except ExtractionError:
            raise
        except MemoryError as exc:
            raise fail("out_of_memory", "parsing ran out of memory") from exc
        except RecursionError as exc:
            raise fail("corrupt", "the document is nested too deeply to parse") from exc
        except OSError as exc:
            raise fail("corrupt", f"the file cannot be read ({exc.strerror})") from exc
        except Exception as exc:
            raise fail(
                "crashed", f"the {file_type.kind} parser failed ({type(exc).__name__})"
            ) from exc
