"""Type detection, size checks and hostile names: refused before any parser runs."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest
from extraction_builders import make_docx

from tidyllm.extraction import ExtractionError, ExtractLimits, detect, extract
from tidyllm.extraction.detect import extension_of


def code_of(path: Path, **kwargs: object) -> str:
    with pytest.raises(ExtractionError) as info:
        extract(path, **kwargs)  # type: ignore[arg-type]
    assert str(info.value) and info.value.hint  # always a reason and advice
    return info.value.code


def test_zero_bytes_is_empty(tmp_path: Path) -> None:
    path = tmp_path / "nothing.pdf"
    path.touch()
    assert code_of(path) == "empty"


def test_sparse_file_over_the_limit_is_refused_without_reading(tmp_path: Path) -> None:
    path = tmp_path / "huge.pdf"
    with open(path, "wb") as fh:
        fh.write(b"%PDF-1.7\n")
    os.truncate(path, 1 << 40)  # 1 TiB, sparse: reading it would never finish
    try:
        assert code_of(path) == "too_large"
    finally:
        path.unlink()


def test_size_limit_is_configurable(fed_pdf: Path) -> None:
    assert code_of(fed_pdf, limits=ExtractLimits(max_bytes=1024)) == "too_large"


def test_executable_named_pdf_is_mislabelled(tmp_path: Path) -> None:
    fake = tmp_path / "invoice.pdf"
    shutil.copyfile(os.path.realpath(sys.executable), fake)  # a real ELF binary
    with pytest.raises(ExtractionError) as info:
        extract(fake)
    assert info.value.code == "mislabelled"
    assert "executable" in str(info.value)


def test_pdf_named_docx_is_mislabelled(fed_pdf: Path, tmp_path: Path) -> None:
    path = tmp_path / "report.docx"
    shutil.copyfile(fed_pdf, path)
    assert code_of(path) == "mislabelled"


def test_docx_named_txt_is_mislabelled(tmp_path: Path) -> None:
    path = make_docx(tmp_path / "x.docx")
    assert code_of(path, filename="notes.txt") == "mislabelled"


def test_random_bytes_named_csv_are_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    path.write_bytes(bytes(range(256)) * 16)
    assert code_of(path) == "corrupt"


@pytest.mark.parametrize("name", ["setup.exe", "photo.png", "archive.tar.gz", "report.pdf.exe"])
def test_unsupported_extensions(tmp_path: Path, name: str) -> None:
    path = tmp_path / "upload"
    path.write_bytes(b"some bytes that do not matter")
    assert code_of(path, filename=name) == "unsupported_type"


def test_png_without_extension_is_unsupported(tmp_path: Path) -> None:
    path = tmp_path / "noext"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    assert code_of(path) == "unsupported_type"


def test_no_extension_goes_by_content(fed_pdf: Path, tmp_path: Path) -> None:
    pdf = tmp_path / "scan0001"
    shutil.copyfile(fed_pdf, pdf)
    assert detect(pdf).kind == "pdf"
    html = tmp_path / "index"
    html.write_text("<!DOCTYPE html><html><body><p>Hi there</p></body></html>")
    assert extract(html).pages[0].text == "Hi there"


def test_filename_claim_is_used_over_the_stored_name(tmp_path: Path) -> None:
    stored = tmp_path / "blob-7f3a"  # how an object store might keep the upload
    stored.write_text("# Title\n\nBody\n")
    assert extract(stored, filename="Guide.MD").mime == "text/markdown"


@pytest.mark.parametrize(
    "hostile",
    [
        "../../../../etc/passwd.md",
        "..\\..\\windows\\system32\\notes.md",
        "line\nbreak\r\n.md",
        "nul\x00byte.md",
        "x" * 5000 + ".md",
        "$(rm -rf ~).md",
        "ünïcödé 名前.md",
    ],
)
def test_hostile_names_only_lend_their_extension(tmp_path: Path, hostile: str) -> None:
    path = tmp_path / "upload"
    path.write_text("# Safe\n\ntext\n")
    doc = extract(path, filename=hostile)
    assert doc.mime == "text/markdown"
    assert doc.pages[0].text == "# Safe\n\ntext"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["upload"]  # nothing created


@pytest.mark.parametrize(
    ("name", "ext"),
    [("a.PDF", ".pdf"), ("dir.v2/file", ""), (".hidden", ""), ("a.b.c.Docx", ".docx"),
     ("weird.p!f", ".?"), ("", ""), (" UPPER .PDF ", ".pdf"), ("dir/ x.Md\t", ".md")],
)  # fmt: skip
def test_extension_of(name: str, ext: str) -> None:
    assert extension_of(name) == ext


def test_spaces_around_an_upper_case_name_do_not_hide_its_type(fed_pdf: Path) -> None:
    doc = extract(fed_pdf, filename=" UPPER .PDF ")
    assert doc.mime == "application/pdf" and len(doc.pages) == 33


def test_empty_file_hint_says_it_is_empty(tmp_path: Path) -> None:
    path = tmp_path / "nothing.txt"
    path.touch()
    with pytest.raises(ExtractionError) as info:
        extract(path)
    assert "empty" in info.value.hint and "again" not in info.value.hint


def test_directory_is_not_a_document(tmp_path: Path) -> None:
    folder = tmp_path / "folder.pdf"
    folder.mkdir()
    assert code_of(folder) == "unsupported_type"


def test_missing_file(tmp_path: Path) -> None:
    assert code_of(tmp_path / "gone.pdf") == "corrupt"
