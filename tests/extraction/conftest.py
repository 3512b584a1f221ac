"""Fixtures for the extraction tests: the real corpus and generated hostile files."""

from __future__ import annotations

from pathlib import Path

import pytest

from corpus_paths import CORPUS


@pytest.fixture(scope="session")
def corpus() -> Path:
    """The shared real-document corpus (two PDFs)."""
    if not (CORPUS / "us-patent-12290739.pdf").is_file():
        pytest.fail(f"the shared corpus (the Fed report and the patent) is not at {CORPUS}")
    return CORPUS


@pytest.fixture(scope="session")
def fed_pdf(corpus: Path) -> Path:
    """33 pages with a text layer."""
    return corpus / "fed-sr-model-validation-stress-testing-2015.pdf"


@pytest.fixture(scope="session")
def patent_pdf(corpus: Path) -> Path:
    """18 scanned pages, no text layer."""
    return corpus / "us-patent-12290739.pdf"


@pytest.fixture(scope="session")
def patent_first_page_header(patent_pdf: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The patent's first scanned page cropped to its top quarter (the front-page header).

    Same scan, same image; the crop box only limits what is rendered, so OCR
    reads ~25 lines instead of ~110 (about 5 s instead of 15-25 s here).
    """
    import pypdf

    writer = pypdf.PdfWriter()
    page = writer.add_page(pypdf.PdfReader(patent_pdf).pages[0])
    x0, y0, x1, y1 = (float(v) for v in page.mediabox)
    page.cropbox = pypdf.generic.RectangleObject([x0, y1 - (y1 - y0) / 4, x1, y1])
    out = tmp_path_factory.mktemp("patent") / "patent-page-1-header.pdf"
    writer.write(out)
    return out


@pytest.fixture(scope="session")
def ten_thousand_page_pdf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """10,000 blank pages (about 1 s to write with pypdf; built once per session)."""
    import pypdf

    writer = pypdf.PdfWriter()
    for _ in range(10_000):
        writer.add_blank_page(72, 72)
    out = tmp_path_factory.mktemp("big") / "ten-thousand-pages.pdf"
    writer.write(out)
    return out


@pytest.fixture(scope="session")
def encrypted_pdf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A one-page PDF that needs a user password (AES-256, written by pypdf)."""
    import pypdf

    writer = pypdf.PdfWriter()
    writer.add_blank_page(200, 200)
    writer.encrypt(user_password="user-pass", owner_password="owner-pass", algorithm="AES-256")
    out = tmp_path_factory.mktemp("enc") / "locked.pdf"
    writer.write(out)
    return out
