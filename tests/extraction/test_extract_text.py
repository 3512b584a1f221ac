"""TXT, Markdown, HTML, JSON and CSV extraction."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tidyllm.extraction import Block, ExtractionError, extract


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def test_txt_paragraphs(tmp_path: Path) -> None:
    doc = extract(write(tmp_path, "notes.txt", "First line\r\nstill first.\r\n\r\nSecond.\r\n"))
    assert doc.mime == "text/plain"
    assert len(doc.pages) == 1 and doc.pages[0].number == 1
    assert doc.pages[0].text == "First line\nstill first.\n\nSecond."
    assert [b.text for b in doc.pages[0].blocks] == ["First line\nstill first.", "Second."]
    assert doc.warnings == ()


def test_txt_windows_1252_is_decoded_with_a_warning(tmp_path: Path) -> None:
    doc = extract(write(tmp_path, "legacy.txt", "Caf\xe9 \u2013 r\xe9sum\xe9".encode("cp1252")))
    assert doc.pages[0].text == "Caf\xe9 \u2013 r\xe9sum\xe9"
    assert "Windows-1252" in doc.warnings[0]


def test_txt_utf16_with_bom(tmp_path: Path) -> None:
    doc = extract(write(tmp_path, "wide.txt", "Grüße aus Köln".encode("utf-16")))
    assert doc.pages[0].text == "Grüße aus Köln"


def test_markdown_blocks(tmp_path: Path) -> None:
    source = (
        "# Model Risk\n\nIntro paragraph.\n\n## Findings\n\n- one\n- two\n\n"
        "| a | b |\n|---|---|\n| 1 | 2 |\n\n```\n# not a heading\n```\n"
    )
    doc = extract(write(tmp_path, "readme.md", source))
    assert doc.mime == "text/markdown"
    assert doc.title == "Model Risk"
    assert doc.pages[0].blocks == (
        Block("heading", "Model Risk", 1),
        Block("paragraph", "Intro paragraph."),
        Block("heading", "Findings", 2),
        Block("list", "- one\n- two"),
        Block("table", "| a | b |\n|---|---|\n| 1 | 2 |"),
        Block("paragraph", "```\n# not a heading\n```"),
    )


def test_html_structure_without_scripts(tmp_path: Path) -> None:
    page = """<!doctype html><html><head><title>Validation &amp; Review</title>
    <style>body{color:red}</style><script>var secret = "do not index";</script></head>
    <body><h1>Overview</h1><p>Stress <b>testing</b> matters.</p>
    <ul><li>First</li><li>Second</li></ul>
    <table><tr><th>Model</th><th>Status</th></tr><tr><td>PPNR</td><td>ok</td></tr></table>
    <p>Unclosed paragraph<div>next block</div></body></html>"""
    doc = extract(write(tmp_path, "page.html", page))
    assert doc.mime == "text/html"
    assert doc.title == "Validation & Review"
    assert doc.pages[0].blocks == (
        Block("heading", "Overview", 1),
        Block("paragraph", "Stress testing matters."),
        Block("list", "First"),
        Block("list", "Second"),
        Block("table", "Model | Status\nPPNR | ok"),
        Block("paragraph", "Unclosed paragraph"),
        Block("paragraph", "next block"),
    )
    assert "do not index" not in doc.text and "color" not in doc.text


def test_html_with_no_visible_text_is_empty(tmp_path: Path) -> None:
    with pytest.raises(ExtractionError) as info:
        extract(write(tmp_path, "blank.html", "<html><script>x()</script></html>"))
    assert info.value.code == "empty"


def test_json_flattened_to_searchable_lines(tmp_path: Path) -> None:
    data = {"title": "Inventory", "models": [{"name": "PPNR", "owner": "MVU"}], "count": 1}
    doc = extract(write(tmp_path, "inventory.json", json.dumps(data)))
    assert doc.mime == "application/json"
    assert doc.title == "Inventory"
    assert doc.pages[0].text == (
        "title: Inventory\nmodels[0].name: PPNR\nmodels[0].owner: MVU\ncount: 1"
    )
    assert len(doc.pages[0].blocks) == 3


@pytest.mark.parametrize(
    "content",
    ['{"a": 1', "[" * 100_000 + "]" * 100_000, '{"n": ' + "9" * 10_000 + "}"],
    ids=["unterminated", "nested-too-deep", "huge-integer"],
)
def test_invalid_json_is_corrupt(tmp_path: Path, content: str) -> None:
    with pytest.raises(ExtractionError) as info:
        extract(write(tmp_path, "bad.json", content))
    assert info.value.code == "corrupt"


def test_csv_with_sniffed_delimiter(tmp_path: Path) -> None:
    doc = extract(
        write(tmp_path, "rows.csv", 'model;status\nPPNR;"validated; twice"\nCL;pending\n')
    )
    assert doc.mime == "text/csv"
    assert doc.pages[0].blocks == (
        Block("table", "model | status\nPPNR | validated; twice\nCL | pending"),
    )


def test_csv_with_oversized_field_is_corrupt(tmp_path: Path) -> None:
    with pytest.raises(ExtractionError) as info:
        extract(write(tmp_path, "wide.csv", 'a,b\n"' + "x" * 200_000 + '",1\n'))
    assert info.value.code == "corrupt"


def test_whitespace_only_text_is_empty(tmp_path: Path) -> None:
    with pytest.raises(ExtractionError) as info:
        extract(write(tmp_path, "blank.txt", "  \n\n\t \n"))
    assert info.value.code == "empty"
