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
