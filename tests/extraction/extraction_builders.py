"""Small real documents for the extraction tests, written with the same libraries we read with."""

from __future__ import annotations

import zipfile
from pathlib import Path


def make_docx(path: Path) -> Path:
    """Title, two headings, a paragraph, a bulleted list, a table and a hard page break."""
    import docx

    document = docx.Document()
    document.core_properties.title = "Quarterly Model Review"
    document.core_properties.author = "Validation Unit"
    document.add_heading("Quarterly Model Review", level=1)
    document.add_paragraph("The review covered every supervisory model in production.")
    document.add_paragraph("Backtesting was complete", style="List Bullet")
    document.add_paragraph("Documentation was missing for two models", style="List Bullet")
    table = document.add_table(rows=3, cols=2)
    for row, (model, status) in enumerate(
        [("Model", "Status"), ("PPNR", "validated"), ("Credit loss", "pending")]
    ):
        table.cell(row, 0).text = model
        table.cell(row, 1).text = status
    document.add_page_break()
    document.add_heading("Findings", level=2)
    document.add_paragraph("Finding one concerns the model inventory.")
    document.save(str(path))
    return path


def make_xlsx(path: Path) -> Path:
    """Two sheets with a header row each."""
    import openpyxl

    workbook = openpyxl.Workbook()
    first = workbook.active
    first.title = "Revenue"
    first.append(["Quarter", "Amount"])
    first.append(["Q1", 1200])
    first.append(["Q2", 1350.5])
    second = workbook.create_sheet("Headcount")
    second.append(["Team", "People"])
    second.append(["Validation", 14])
    workbook.save(str(path))
    return path


def make_pptx(path: Path) -> Path:
    """Two slides: a title slide, then a slide with a bulleted body, a table and notes."""
    import pptx
    from pptx.util import Inches

    presentation = pptx.Presentation()
    slide = presentation.slides.add_slide(presentation.slide_layouts[0])
    slide.shapes.title.text = "Stress Testing Overview"
    slide.placeholders[1].text = "Board of Governors"
    slide = presentation.slides.add_slide(presentation.slide_layouts[1])
    slide.shapes.title.text = "Validation Results"
    body = slide.placeholders[1].text_frame
    body.text = "Models reviewed"
    sub = body.add_paragraph()
    sub.text = "Twelve passed"
    sub.level = 1
    shape = slide.shapes.add_table(2, 2, Inches(1), Inches(4), Inches(4), Inches(1))
    for r, row in enumerate([("Model", "Result"), ("PPNR", "pass")]):
        for c, value in enumerate(row):
            shape.table.cell(r, c).text = value
    slide.notes_slide.notes_text_frame.text = "Mention the pending credit loss model."
    presentation.save(str(path))
    return path


def add_zip_member(path: Path, name: str, data: bytes) -> Path:
    """Append a deflated member to an existing zip container (e.g. a zip bomb payload)."""
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        zf.writestr(name, data)
    return path


def raw_pdf(objects: list[bytes]) -> bytes:
    """A PDF written byte by byte: ``objects`` are the bodies of objects 1..n (1 = catalog).

    The cross-reference table is exact, so pdfium reads the file as written,
    which is how the malformed shapes below reach it without being "repaired".
    """
    out = bytearray(b"%PDF-1.7\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def circular_page_tree_pdf() -> bytes:
    """A page-tree node that lists itself among its kids (a malformed, not a scanned, PDF)."""
    return raw_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Pages /Kids [2 0 R] /Count 1 /Parent 2 0 R >>",
        ]
    )


def one_page_pdf(content: bytes, *, deflate: bool = True) -> bytes:
    """One 200 x 200 pt page drawing ``content`` (a content stream) with Helvetica as /F1."""
    import zlib

    extra = b""
    if deflate:
        content, extra = zlib.compress(content, 9), b" /Filter /FlateDecode"
    return raw_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Contents 4 0 R "
            b"/Resources << /Font << /F1 5 0 R >> >> >>",
            b"<< /Length %d%s >>\nstream\n" % (len(content), extra) + content + b"\nendstream",
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        ]
    )


def text_pdf(text: bytes = b"Stress testing of bank holding companies. " * 20) -> bytes:
    """A real text PDF: one page with a text layer."""
    return one_page_pdf(b"BT /F1 12 Tf 20 100 Td (" + text + b") Tj ET")


def truncated_text_pdf() -> bytes:
    """A text PDF cut inside its content stream, its trailer and ``%%EOF`` still in place.

    The end-of-file check passes; pdfium repairs the broken cross-reference
    table and finds a page that draws nothing.
    """
    good = text_pdf()
    start = good.index(b"stream\n") + len(b"stream\n")
    return good[: start + 40] + good[good.index(b"\nendstream") :]


def bomb_pdf(inflated_mb: int = 300) -> bytes:
    """A page whose deflated content stream inflates ~1000-fold to blank space."""
    return one_page_pdf(b" " * (inflated_mb * 1024 * 1024))
