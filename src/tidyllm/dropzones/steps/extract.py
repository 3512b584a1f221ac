"""``extract``: text and pages out of the file, in a limited child process.

The child has time, memory and size limits (see :mod:`tidyllm.extraction.isolate`),
so a parser that crashes, hangs or balloons fails the file, never the worker.
"""

from __future__ import annotations

from typing import Any

from tidyllm.dropzones.pipeline import StepContext
from tidyllm.errors import ExtractionError, FileRejected

MAX_PAGES = 2000
METADATA_RUNNER = "tidyllm.extraction.metadata:extract_with_metadata"


class ExtractStep:
    """Runs :func:`tidyllm.extraction.extract_isolated` and keeps the document for later steps."""

    name = "extract"
    version = "1"

    def run(self, ctx: StepContext) -> dict[str, Any]:
        from tidyllm.extraction import ExtractLimits, extract_isolated

        zone = ctx.zone.settings
        limits = ExtractLimits(
            max_bytes=ctx.zone.max_bytes,
            max_pages=MAX_PAGES,
            max_seconds=zone.parse_timeout,
            ocr=zone.ocr,
        )
        try:
            # issue 13: the runner also reads XMP and the first page's largest-font title, in
            # the same limited child (the index step turns them into the extracted layer)
            document = extract_isolated(
                ctx.path, filename=ctx.filename, limits=limits, runner=METADATA_RUNNER
            )
        except ExtractionError as exc:
            raise FileRejected(exc.code, str(exc), hint=exc.hint) from exc
        ctx.document = document
        return {
            "mime": document.mime,
            "pages": len(document.pages),
            "characters": sum(len(p.text) for p in document.pages),
            "title": document.title,
            "ocr": document.ocr,
            "warnings": list(document.warnings),
        }
