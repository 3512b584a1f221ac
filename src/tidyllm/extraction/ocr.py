"""Optional OCR for PDF pages that have no text layer (the ``tidyllm[ocr]`` extra).

Engine: RapidOCR on onnxruntime (``rapidocr-onnxruntime``). Its detection,
angle and recognition models ship inside the wheel, so it runs offline and
needs no system package (tesseract would need Debian's ``tesseract-ocr``).
Pages are rendered with pdfium at a fixed long side rather than a DPI
because scanned PDFs declare arbitrary page sizes (the corpus patent's
pages are 2560 x 3300 pt); about 2000 px keeps small print legible and a
page at a few seconds on two cores.
"""

from __future__ import annotations

import importlib.util
from functools import lru_cache
from typing import Any

RENDER_LONG_SIDE_PX = 2000
MIN_CONFIDENCE = 0.5


def ocr_available() -> bool:
    """True when the OCR extra is installed (checked without importing it)."""
    return importlib.util.find_spec("rapidocr_onnxruntime") is not None


_OOM_MARKERS = ("bad_alloc", "Cannot allocate memory")


@lru_cache(maxsize=1)
def _engine() -> Any:
    from rapidocr_onnxruntime import RapidOCR  # optional dependency

    try:
        return RapidOCR()
    except Exception as exc:
        _raise_if_oom(exc)
        raise


def _raise_if_oom(exc: Exception) -> None:
    """onnxruntime reports allocation failures as RuntimeErrors; make them MemoryErrors."""
    if any(marker in str(exc) for marker in _OOM_MARKERS):
        raise MemoryError("OCR ran out of memory") from exc


def ocr_pdf_page(page: Any) -> str:
    """Recognise the text of one ``pypdfium2.PdfPage``; lines in reading order."""
    width, height = page.get_size()
    scale = RENDER_LONG_SIDE_PX / max(width, height, 1.0)
    bitmap = page.render(scale=scale, grayscale=True)
    try:
        image = bitmap.to_numpy()
        try:
            result, _timings = _engine()(image)
        except Exception as exc:
            _raise_if_oom(exc)
            raise
    finally:
        bitmap.close()
    lines = [text for _box, text, score in (result or []) if float(score) >= MIN_CONFIDENCE]
    return "\n".join(lines)
