"""PDF extraction on the real corpus and on hostile PDFs."""

from __future__ import annotations

from pathlib import Path

import pytest
from extraction_builders import (
    bomb_pdf,
    circular_page_tree_pdf,
    text_pdf,
    truncated_text_pdf,
)

from tidyllm.extraction import (
    ExtractionError,
    ExtractLimits,
    extract,
    extract_isolated,
    ocr_available,
)
from tidyllm.extraction.quality import is_garbage


def test_fed_report_pages_are_physical_and_one_based(fed_pdf: Path) -> None:
    doc = extract(fed_pdf)
    assert doc.mime == "application/pdf"
    assert [p.number for p in doc.pages] == list(range(1, 34))
    # Physical page 8 is the report's printed page "1": we cite physical pages.
    assert "Supervisory Capital Assessment Program (SCAP)" in doc.pages[7].text
    assert "Supervisory Capital Assessment Program" not in doc.pages[6].text
    assert doc.pages[0].text.startswith("OFFICE OF INSPECTOR GENERAL")
    assert doc.title and doc.title.startswith("The Board Identified Areas of Improvement")
    assert doc.metadata["keywords"] == "evaluation CCAR bank holding company"
    assert doc.ocr is False
    # The back cover is blank: kept as an empty page so numbering holds, and reported.
    assert doc.pages[32].text == ""
    assert doc.warnings == ("no text on pages 33",)


def test_fed_report_has_no_garbage_characters(fed_pdf: Path) -> None:
    doc = extract(fed_pdf)
    assert all(not is_garbage(p.text) for p in doc.pages if p.text)
    assert "\ufffe" not in doc.text and "\ufffd" not in doc.text
    assert "forward-looking" in doc.pages[7].text  # pdfium's hyphen marker mapped back


def test_scanned_patent_without_ocr_is_no_text_layer(patent_pdf: Path) -> None:
    with pytest.raises(ExtractionError) as info:
        extract(patent_pdf)
    assert info.value.code == "no_text_layer"
    if ocr_available():  # the hint says what to do here, not "install what is installed"
        assert "tidyllm[ocr]" not in info.value.hint
        assert "ocr: true" in info.value.hint and "--ocr" in info.value.hint
    else:
        assert "tidyllm[ocr]" in info.value.hint


def test_scan_hint_without_the_ocr_extra_says_install_it(
    patent_pdf: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # TEST DOUBLE: pretend the OCR extra is absent (it is installed in this environment).
    monkeypatch.setattr("tidyllm.extraction.pdf.ocr_available", lambda: False)
    with pytest.raises(ExtractionError) as info:
        extract(patent_pdf)
    assert info.value.code == "no_text_layer"
    assert "tidyllm[ocr]" in info.value.hint


@pytest.mark.parametrize("runner", [extract, extract_isolated])
def test_circular_page_tree_is_corrupt_not_a_crash(runner, tmp_path: Path) -> None:
    path = tmp_path / "loop.pdf"
    path.write_bytes(circular_page_tree_pdf())
    with pytest.raises(ExtractionError) as info:
        runner(path)
    assert info.value.code == "corrupt"
    assert "page tree" in str(info.value)
    assert "report it" not in info.value.hint


def test_truncated_text_pdf_with_its_trailer_is_corrupt_not_a_scan(tmp_path: Path) -> None:
    path = tmp_path / "cut.pdf"
    path.write_bytes(truncated_text_pdf())
    with pytest.raises(ExtractionError) as info:
        extract(path)
    assert info.value.code == "corrupt"
    assert "OCR" not in info.value.hint and "ocr" not in info.value.hint


def test_pdf_bomb_is_not_called_a_scan(tmp_path: Path) -> None:
    path = tmp_path / "bomb.pdf"
    path.write_bytes(bomb_pdf(64))
    assert path.stat().st_size < 1 << 20
    with pytest.raises(ExtractionError) as info:
        extract_isolated(path)
    assert info.value.code == "empty"
    assert "no text or images" in str(info.value)
    assert "ocr" not in info.value.hint.lower()


def test_text_pdf_builder_reads_back(tmp_path: Path) -> None:
    path = tmp_path / "ok.pdf"
    path.write_bytes(text_pdf(b"Stress testing"))
    assert extract(path).pages[0].text == "Stress testing"


@pytest.mark.skipif(
    not ocr_available(), reason="the OCR extra (rapidocr-onnxruntime) is not installed"
)
def test_scanned_patent_page_with_ocr_gives_real_text(patent_first_page_header: Path) -> None:
    # Through the child process, as the worker runs it: OCR fits the default limits.
    doc = extract_isolated(patent_first_page_header, limits=ExtractLimits(ocr=True))
    assert doc.ocr is True
    assert len(doc.pages) == 1 and doc.pages[0].number == 1
    text = doc.pages[0].text
    assert "United States Patent" in text
    assert "Oswald Leroy Skeete" in text
    assert "US 12,290,739 B2" in text
    assert not is_garbage(text)


def test_encrypted_pdf(encrypted_pdf: Path) -> None:
    with pytest.raises(ExtractionError) as info:
        extract(encrypted_pdf)
    assert info.value.code == "encrypted"
    assert "password" in info.value.hint


def test_truncated_pdf_is_corrupt_not_partially_ingested(fed_pdf: Path, tmp_path: Path) -> None:
    data = fed_pdf.read_bytes()
    cut = tmp_path / "cut.pdf"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(ExtractionError) as info:
        extract(cut)
    assert info.value.code == "corrupt"
    assert "truncated" in str(info.value)


def test_corrupt_pdf(tmp_path: Path) -> None:
    bad = tmp_path / "bad.pdf"
    bad.write_bytes(b"%PDF-1.7\n" + bytes(range(256)) * 40 + b"\n%%EOF\n")
    with pytest.raises(ExtractionError) as info:
        extract(bad)
    assert info.value.code == "corrupt"


def test_ten_thousand_pages_refused_by_count(ten_thousand_page_pdf: Path) -> None:
    with pytest.raises(ExtractionError) as info:
        extract(ten_thousand_page_pdf)
    assert info.value.code == "too_many_pages"
    assert "10000 pages" in str(info.value)


def test_page_limit_is_configurable(fed_pdf: Path) -> None:
    with pytest.raises(ExtractionError) as info:
        extract(fed_pdf, limits=ExtractLimits(max_pages=10))
    assert info.value.code == "too_many_pages"


@pytest.mark.parametrize(
    ("text", "garbage"),
    [
        ("Stress testing models", False),
        ("", True),
        ("   \n ", True),
        ("\ufffd\ufffd\ufffd\ufffd ab", True),
        ("\ue000\ue001\ue002\ue003\ue004 x", True),
        ("\x01\x02\x03\x04\x05\x06", True),
        ("Ünïcödé text — fine", False),
    ],
)
def test_garbage_detection(text: str, garbage: bool) -> None:
    assert is_garbage(text) is garbage


def test_ocr_requested_but_not_installed_says_so(
    patent_pdf: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # TEST DOUBLE: pretend the OCR extra is absent (it is installed in this environment).
    monkeypatch.setattr("tidyllm.extraction.pdf.ocr_available", lambda: False)
    with pytest.raises(ExtractionError) as info:
        extract(patent_pdf, limits=ExtractLimits(ocr=True))
    assert info.value.code == "no_text_layer"
    assert "OCR is not installed" in str(info.value)
    assert "tidyllm[ocr]" in info.value.hint


def test_mixed_pdf_ocr_off_keeps_text_pages_and_warns(
    fed_pdf: Path, patent_pdf: Path, tmp_path: Path
) -> None:
    import pypdf

    writer = pypdf.PdfWriter()
    writer.add_page(pypdf.PdfReader(fed_pdf).pages[0])
    writer.add_page(pypdf.PdfReader(patent_pdf).pages[5])
    mixed = tmp_path / "mixed.pdf"
    writer.write(mixed)
    doc = extract(mixed)
    assert [p.number for p in doc.pages] == [1, 2]
    assert doc.pages[0].text.startswith("OFFICE OF INSPECTOR GENERAL")
    assert doc.pages[1].text == ""
    assert doc.warnings == ("no text on pages 2",)
    assert doc.ocr is False
