"""DOCX, XLSX and PPTX with python-docx, openpyxl (read-only) and python-pptx.

Every container passes :func:`~tidyllm.extraction.limits.check_zip` first, so
nothing is inflated before the zip-bomb checks. These libraries raise a zoo
of exception types on damaged input (KeyError, lxml's XMLSyntaxError,
ValueError, ...); anything they raise becomes ``corrupt``.

Pages: a DOCX has no physical pages until it is laid out, so its pages follow
the page breaks Word recorded when it last rendered the file
(``lastRenderedPageBreak``), or else hard page breaks, or else it is page 1.
An XLSX sheet and a PPTX slide are each one page, numbered by position.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Iterable, Iterator
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from tidyllm.errors import ExtractionError
from tidyllm.extraction.failures import fail
from tidyllm.extraction.limits import Deadline, ExtractLimits, check_zip
from tidyllm.extraction.model import Block, ExtractedDocument, Page

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"

_HEADING_STYLE = re.compile(r"^heading\s*(\d)$", re.IGNORECASE)


def _guarded(
    parse: Callable[[Path, ExtractLimits, Deadline], ExtractedDocument],
) -> Callable[[Path, ExtractLimits, Deadline], ExtractedDocument]:
    """Zip checks first; library warnings become document warnings; errors become ``corrupt``."""

    def run(path: Path, limits: ExtractLimits, deadline: Deadline) -> ExtractedDocument:
        check_zip(path, limits)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                doc = parse(path, limits, deadline)
            except (ExtractionError, MemoryError):
                raise
            except Exception as exc:
                raise fail(
                    "corrupt", f"the document cannot be parsed ({type(exc).__name__})"
                ) from exc
        notes = tuple(dict.fromkeys(str(w.message) for w in caught))
        return ExtractedDocument(
            mime=doc.mime,
            pages=doc.pages,
            title=doc.title,
            metadata=doc.metadata,
            warnings=doc.warnings + notes,
            ocr=False,
        )

    run.__doc__ = parse.__doc__
    run.__name__ = parse.__name__
    return run


def _page(number: int, blocks: list[Block]) -> Page:
    return Page(number=number, text="\n\n".join(b.text for b in blocks), blocks=tuple(blocks))


def _core_metadata(props: Any) -> dict[str, str]:
    out: dict[str, str] = {}
    for name in ("title", "author", "subject", "keywords", "created", "modified"):
        value = getattr(props, name, None)
        if isinstance(value, datetime):
            value = value.isoformat()
        if value:
            out[name] = str(value).strip()
    return out


def _check_pages(count: int, limits: ExtractLimits, what: str) -> None:
    if count > limits.max_pages:
        raise fail(
            "too_many_pages", f"the document has {count} {what}; the limit is {limits.max_pages}"
        )


# ---------------------------------------------------------------- DOCX


@_guarded
def extract_docx(path: Path, limits: ExtractLimits, deadline: Deadline) -> ExtractedDocument:
    """Paragraphs, headings, lists and tables in body order, split at recorded page breaks."""
    import docx
    from docx.table import Table

    document = docx.Document(str(path))
    body = document.element.body
    use_rendered = bool(body.xpath(".//w:lastRenderedPageBreak"))
    pages: list[list[Block]] = [[]]
    for item in document.iter_inner_content():
        deadline.check()
        if isinstance(item, Table):
            text = _docx_table(item)
            if text:
                pages[-1].append(Block("table", text))
            continue
        text = item.text.strip()
        if text:
            pages[-1].append(_docx_paragraph_block(item, text))
        breaks = (
            len(item.rendered_page_breaks)
            if use_rendered
            else len(item._p.xpath('.//w:br[@w:type="page"]'))
        )
        for _ in range(breaks):
            pages.append([])
            _check_pages(len(pages), limits, "pages")
    while len(pages) > 1 and not pages[-1]:
        pages.pop()  # a trailing break does not make a page with content
    metadata = _core_metadata(document.core_properties)
    headings = [b.text for page in pages for b in page if b.kind == "heading"]
    return ExtractedDocument(
        mime=DOCX,
        pages=tuple(_page(i + 1, blocks) for i, blocks in enumerate(pages)),
        title=metadata.get("title") or (headings[0] if headings else None),
        metadata=metadata,
    )


def _docx_paragraph_block(paragraph: Any, text: str) -> Block:
    style = (paragraph.style.name if paragraph.style is not None else "") or ""
    if style.lower() == "title":
        return Block("heading", text, 1)
    match = _HEADING_STYLE.match(style)
    if match:
        return Block("heading", text, int(match.group(1)))
    ppr = paragraph._p.pPr
    if style.lower().startswith("list") or (ppr is not None and ppr.numPr is not None):
        return Block("list", text)
    return Block("paragraph", text)


def _docx_table(table: Any) -> str:
    rows = []
    for row in table.rows:
        cells, seen = [], set()
        for cell in row.cells:
            if id(cell._tc) in seen:  # a merged cell repeats across the span
                continue
            seen.add(id(cell._tc))
            cells.append(" ".join(cell.text.split()))
        if any(cells):
            rows.append(" | ".join(cells))
    return "\n".join(rows)


# ---------------------------------------------------------------- XLSX


@_guarded
def extract_xlsx(path: Path, limits: ExtractLimits, deadline: Deadline) -> ExtractedDocument:
    """Each sheet is a page: its name as a heading, then its rows as a table (cached values)."""
    import openpyxl

    workbook = openpyxl.load_workbook(str(path), read_only=True, data_only=True)
    try:
        names = workbook.sheetnames
        _check_pages(len(names), limits, "sheets")
        pages = []
        for number, name in enumerate(names, start=1):
            sheet = workbook[name]
            blocks = [Block("heading", name, 1)]
            if hasattr(sheet, "iter_rows"):  # chartsheets have no cells
                table = "\n".join(_xlsx_rows(sheet.iter_rows(values_only=True), deadline))
                if table:
                    blocks.append(Block("table", table))
            pages.append(_page(number, blocks))
        metadata = _core_metadata(workbook.properties)
    finally:
        workbook.close()  # read-only mode keeps the file open until closed
    return ExtractedDocument(
        mime=XLSX, pages=tuple(pages), title=metadata.get("title"), metadata=metadata
    )


def _xlsx_rows(rows: Iterable[tuple[Any, ...]], deadline: Deadline) -> Iterator[str]:
    for index, row in enumerate(rows):
        if index % 1000 == 0:
            deadline.check()
        cells = [_cell_text(v) for v in row]
        while cells and not cells[-1]:
            cells.pop()
        if cells:
            yield " | ".join(cells)


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return " ".join(str(value).split())


# ---------------------------------------------------------------- PPTX


@_guarded
def extract_pptx(path: Path, limits: ExtractLimits, deadline: Deadline) -> ExtractedDocument:
    """Each slide is a page: title as a heading, text frames, tables, then speaker notes."""
    import pptx

    presentation = pptx.Presentation(str(path))
    slides = list(presentation.slides)
    _check_pages(len(slides), limits, "slides")
    pages = []
    for number, slide in enumerate(slides, start=1):
        deadline.check()
        blocks = list(_pptx_shape_blocks(slide.shapes))
        if slide.has_notes_slide:
            notes = slide.notes_slide.notes_text_frame
            if notes is not None and notes.text.strip():
                blocks.append(Block("paragraph", "Notes: " + notes.text.strip()))
        pages.append(_page(number, blocks))
    metadata = _core_metadata(presentation.core_properties)
    first_heading = next((b.text for p in pages for b in p.blocks if b.kind == "heading"), None)
    return ExtractedDocument(
        mime=PPTX,
        pages=tuple(pages),
        title=metadata.get("title") or first_heading,
        metadata=metadata,
    )


def _pptx_shape_blocks(shapes: Iterable[Any]) -> Iterator[Block]:
    from pptx.enum.shapes import MSO_SHAPE_TYPE, PP_PLACEHOLDER

    for shape in shapes:
        if shape.shape_type == MSO_SHAPE_TYPE.GROUP:
            yield from _pptx_shape_blocks(shape.shapes)
        elif getattr(shape, "has_table", False) and shape.has_table:
            rows = [
                " | ".join(" ".join(cell.text.split()) for cell in row.cells)
                for row in shape.table.rows
            ]
            text = "\n".join(r for r in rows if r.strip(" |"))
            if text:
                yield Block("table", text)
        elif shape.has_text_frame and shape.text_frame.text.strip():
            text = shape.text_frame.text.strip()
            is_title = shape.is_placeholder and shape.placeholder_format.type in (
                PP_PLACEHOLDER.TITLE,
                PP_PLACEHOLDER.CENTER_TITLE,
            )
            if is_title:
                yield Block("heading", " ".join(text.split()), 1)
            elif any(p.level > 0 for p in shape.text_frame.paragraphs):
                yield Block("list", text)
            else:
                yield Block("paragraph", text)
