"""Issue 9 item 8: a Markdown file never yields a chunk holding only ``#``, nor chunks ending
in ``##``: a heading's marks belong to the chunk the heading introduces."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tidyllm.extraction import extract
from tidyllm.knowledge.chunker import Chunker

DOC = """# Model Risk Management

Banks rely on models for many decisions.

## Validation

Validation includes evaluation of conceptual soundness.

### Ongoing monitoring ###

Monitoring confirms the model is appropriately implemented.

- first item
- second item

Governance
----------

Boards set policies.

#

Text after an empty heading.
"""

_MARKS_ONLY = re.compile(r"[#=\-\s]*")
_ENDS_WITH_MARKS = re.compile(r"(?:^|\s)(?:#+|=+)\Z")
_CLOSED_HEADING = re.compile(r"#{1,6}[^\S\n]+\S.*[^\S\n]#+")  # "## Title ##" is one heading


@pytest.fixture(scope="module")
def chunker() -> Chunker:
    return Chunker(chunk_size=20, overlap=0)


def _check(chunks, text: str) -> None:
    for chunk in chunks:
        assert chunk.text == text[chunk.start : chunk.end]
        assert not _MARKS_ONLY.fullmatch(chunk.text), f"a chunk of marks only: {chunk.text!r}"
        line_start = text.rfind("\n", 0, chunk.end) + 1
        line = text[line_start:].split("\n", 1)[0]  # the page line the chunk ends on
        if not _CLOSED_HEADING.fullmatch(line):
            assert not _ENDS_WITH_MARKS.search(chunk.text), f"ends with marks: {chunk.text!r}"


def _md(tmp: Path, text: str):
    path = tmp / "doc.md"
    path.write_text(text, encoding="utf-8")
    return extract(path)


def test_a_markdown_file_gives_no_chunk_of_marks(chunker: Chunker, tmp_path: Path) -> None:
    document = _md(tmp_path, DOC)
    (page,) = document.pages
    chunks = chunker.chunk(document.pages)
    _check(chunks, page.text)
    texts = [c.text for c in chunks]
    # Each heading opens the chunk it introduces, with its marks.
    assert any(t.startswith("# Model Risk Management") for t in texts), texts
    assert any(t.startswith("## Validation") for t in texts), texts
    assert any(t.startswith("### Ongoing monitoring ###") for t in texts), texts
    assert any(t.startswith("Governance\n----------") for t in texts), texts
    by_heading = {c.heading for c in chunks}
    assert {"Model Risk Management", "Validation", "Ongoing monitoring", "Governance"} <= by_heading


_WORD = st.text(alphabet="abcdefghij", min_size=1, max_size=8)
_SECTION = st.tuples(
    st.integers(1, 6),  # heading level
    st.lists(_WORD, min_size=1, max_size=4),  # heading words
    st.booleans(),  # closing marks
    st.lists(st.lists(_WORD, min_size=1, max_size=30), min_size=0, max_size=3),  # paragraphs
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sections=st.lists(_SECTION, min_size=1, max_size=6), size=st.sampled_from([20, 60, 200]))
def test_random_markdown_gives_no_chunk_of_marks(sections, size: int) -> None:
    """(Below ~20 tokens a heading's six marks and its word cannot share a chunk at all.)"""
    import tempfile

    lines = []
    for level, words, closing, paragraphs in sections:
        marks = "#" * level
        lines.append(f"{marks} {' '.join(words)}" + (f" {marks}" if closing else ""))
        lines.append("")
        for paragraph in paragraphs:
            lines += [" ".join(paragraph), ""]
    text = "\n".join(lines)
    with tempfile.TemporaryDirectory() as tmp:
        document = _md(Path(tmp), text)
    chunker = Chunker(chunk_size=size, overlap=min(5, size - 1))
    for page in document.pages:
        _check(chunker.chunk([page]), page.text)
        # Without blocks (plain text with Markdown headings) the same holds.
        _check(chunker.chunk([(page.number, page.text)]), page.text)
