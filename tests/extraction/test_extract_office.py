"""DOCX, XLSX and PPTX extraction, and the zip-container guards."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from extraction_builders import add_zip_member, make_docx, make_pptx, make_xlsx

from tidyllm.extraction import Block, ExtractionError, ExtractLimits, extract


def test_docx_headings_lists_table_and_page_break(tmp_path: Path) -> None:
    doc = extract(make_docx(tmp_path / "review.docx"))
    assert doc.mime.endswith("wordprocessingml.document")
    assert doc.title == "Quarterly Model Review"
    assert doc.metadata["author"] == "Validation Unit"
    assert [p.number for p in doc.pages] == [1, 2]
    first, second = doc.pages
    assert first.blocks[0] == Block("heading", "Quarterly Model Review", 1)
    assert first.blocks[1] == Block(
        "paragraph", "The review covered every supervisory model in production."
    )
    assert [b.text for b in first.blocks if b.kind == "list"] == [
        "Backtesting was complete",
        "Documentation was missing for two models",
    ]
    tables = [b for b in first.blocks if b.kind == "table"]
    assert tables == [Block("table", "Model | Status\nPPNR | validated\nCredit loss | pending")]
    assert second.blocks == (
        Block("heading", "Findings", 2),
        Block("paragraph", "Finding one concerns the model inventory."),
    )
    assert "PPNR | validated" in first.text


def test_xlsx_two_sheets_are_two_pages(tmp_path: Path) -> None:
    doc = extract(make_xlsx(tmp_path / "numbers.xlsx"))
    assert doc.mime.endswith("spreadsheetml.sheet")
    assert [p.number for p in doc.pages] == [1, 2]
    assert doc.pages[0].blocks == (
        Block("heading", "Revenue", 1),
        Block("table", "Quarter | Amount\nQ1 | 1200\nQ2 | 1350.5"),
    )
    assert doc.pages[1].blocks[0] == Block("heading", "Headcount", 1)
    assert "Validation | 14" in doc.pages[1].text


def test_pptx_two_slides_are_two_pages(tmp_path: Path) -> None:
    doc = extract(make_pptx(tmp_path / "deck.pptx"))
    assert doc.mime.endswith("presentationml.presentation")
    assert [p.number for p in doc.pages] == [1, 2]
    assert doc.title == "Stress Testing Overview"
    assert doc.pages[0].blocks == (
        Block("heading", "Stress Testing Overview", 1),
        Block("paragraph", "Board of Governors"),
    )
    kinds = [b.kind for b in doc.pages[1].blocks]
    assert kinds == ["heading", "list", "table", "paragraph"]
    assert doc.pages[1].blocks[1].text == "Models reviewed\nTwelve passed"
    assert doc.pages[1].blocks[2].text == "Model | Result\nPPNR | pass"
    assert doc.pages[1].blocks[3].text == "Notes: Mention the pending credit loss model."


def test_docx_zip_bomb_by_ratio(tmp_path: Path) -> None:
    bomb = add_zip_member(make_docx(tmp_path / "bomb.docx"), "word/media/pad.xml", bytes(64 << 20))
    assert bomb.stat().st_size < 1 << 20  # 64 MiB of zeros squeezed under 1 MiB
    with pytest.raises(ExtractionError) as info:
        extract(bomb)
    assert info.value.code == "zip_bomb"
    assert "expands" in str(info.value)


def test_zip_bomb_by_total_uncompressed_size(tmp_path: Path) -> None:
    path = make_xlsx(tmp_path / "big.xlsx")
    limits = ExtractLimits(max_uncompressed_bytes=1024)
    with pytest.raises(ExtractionError) as info:
        extract(path, limits=limits)
    assert info.value.code == "zip_bomb"


def test_plain_zip_named_docx_is_not_a_document(tmp_path: Path) -> None:
    path = tmp_path / "archive.docx"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("notes.txt", "hello")
    with pytest.raises(ExtractionError) as info:
        extract(path)
    assert info.value.code == "corrupt"


def test_docx_with_broken_xml_is_corrupt(tmp_path: Path) -> None:
    source = make_docx(tmp_path / "source.docx")
    broken = tmp_path / "broken.docx"
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(broken, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "word/document.xml":
                data = data[: len(data) // 2]  # cut mid-element
            zout.writestr(item, data)
    with pytest.raises(ExtractionError) as info:
        extract(broken)
    assert info.value.code == "corrupt"


def test_truncated_xlsx_is_corrupt(tmp_path: Path) -> None:
    data = make_xlsx(tmp_path / "whole.xlsx").read_bytes()
    cut = tmp_path / "cut.xlsx"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(ExtractionError) as info:
        extract(cut)
    assert info.value.code == "corrupt"


def test_password_protected_office_file_is_encrypted(tmp_path: Path) -> None:
    # Crafted at header level: an encrypted OOXML file is an OLE2 compound file
    # whose directory holds an "EncryptedPackage" stream; that is what we detect.
    path = tmp_path / "locked.xlsx"
    name = "EncryptedPackage".encode("utf-16-le")
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504) + name + bytes(4096))
    with pytest.raises(ExtractionError) as info:
        extract(path)
    assert info.value.code == "encrypted"


def test_legacy_doc_is_unsupported(tmp_path: Path) -> None:
    path = tmp_path / "old.docx"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(4096))
    with pytest.raises(ExtractionError) as info:
        extract(path)
    assert info.value.code == "unsupported_type"
    assert "docx" in info.value.hint
