"""HTML to headings, paragraphs, lists and tables with the stdlib ``html.parser``.

Why the stdlib: it is tolerant of broken markup, never fetches anything
(no external entities, no network, no script), and adds no dependency; the
structure we need (h1-h6, p, li, table rows) is a small state machine on
top of it. Script, style and other non-content elements are dropped.
"""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

from tidyllm.extraction.failures import fail
from tidyllm.extraction.limits import Deadline, ExtractLimits
from tidyllm.extraction.model import Block, BlockKind, ExtractedDocument, Page
from tidyllm.extraction.text import read_text

_SKIP = frozenset({"script", "style", "template", "noscript", "svg", "math", "iframe", "object"})
_HEADINGS = {f"h{i}": i for i in range(1, 7)}
_BLOCKS = frozenset(
    {
        "p", "div", "section", "article", "main", "header", "footer", "aside", "nav",
        "blockquote", "pre", "address", "figure", "figcaption", "dl", "dt", "dd",
        "form", "fieldset", "ul", "ol", "body", "br", "hr",
    }
)  # fmt: skip


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[Block] = []
        self.title_parts: list[str] = []
        self._buffer: list[str] = []
        self._kind: BlockKind = "paragraph"
        self._level = 0
        self._skip_depth = 0
        self._in_title = False
        self._table_depth = 0
        self._rows: list[str] = []
        self._cells: list[str] = []

    # -- helpers
    def _flush(self) -> None:
        text = " ".join("".join(self._buffer).split())
        self._buffer = []
        if text:
            self.blocks.append(Block(self._kind, text, self._level))
        self._kind, self._level = "paragraph", 0

    def _end_cell(self) -> None:
        self._cells.append(" ".join("".join(self._buffer).split()))
        self._buffer = []

    # -- parser callbacks
    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self._skip_depth += 1
        elif tag == "title":
            self._in_title = True
        elif self._table_depth and tag in ("td", "th"):
            self._buffer = []
        elif self._table_depth and tag == "tr":
            self._cells = []
        elif tag == "table":
            if self._table_depth == 0:
                self._flush()
                self._rows, self._cells = [], []
            self._table_depth += 1
        elif self._table_depth:
            return  # block tags inside cells stay in the cell
        elif tag in _HEADINGS:
            self._flush()
            self._kind, self._level = "heading", _HEADINGS[tag]
        elif tag == "li":
            self._flush()
            self._kind = "list"
        elif tag in _BLOCKS:
            self._flush()

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self._skip_depth = max(0, self._skip_depth - 1)
        elif tag == "title":
            self._in_title = False
        elif self._table_depth and tag in ("td", "th"):
            self._end_cell()
        elif self._table_depth and tag == "tr":
            if self._buffer:
                self._end_cell()
            if any(self._cells):
                self._rows.append(" | ".join(self._cells))
            self._cells = []
        elif tag == "table" and self._table_depth:
            self._table_depth -= 1
            if self._table_depth == 0:
                if self._rows:
                    self.blocks.append(Block("table", "\n".join(self._rows)))
                self._rows, self._buffer = [], []
        elif not self._table_depth and (tag in _HEADINGS or tag == "li" or tag in _BLOCKS):
            self._flush()

    def handle_data(self, data: str) -> None:
        if self._skip_depth:
            return
        if self._in_title:
            self.title_parts.append(data)
        else:
            self._buffer.append(data)

    def close(self) -> None:
        super().close()
        self._flush()


def extract_html(path: Path, limits: ExtractLimits, deadline: Deadline) -> ExtractedDocument:
    """Visible text as blocks; the ``<title>`` (or first heading) as the title."""
    raw, warnings = read_text(path)
    collector = _Collector()
    # Feed in slices so a huge page still honours the deadline.
    for start in range(0, len(raw), 256 * 1024):
        deadline.check()
        collector.feed(raw[start : start + 256 * 1024])
    collector.close()
    blocks = collector.blocks
    text = "\n\n".join(b.text for b in blocks)
    if not text.strip():
        raise fail("empty", "the HTML page has no visible text")
    title = " ".join("".join(collector.title_parts).split()) or next(
        (b.text for b in blocks if b.kind == "heading"), None
    )
    return ExtractedDocument(
        mime="text/html",
        pages=(Page(number=1, text=text, blocks=tuple(blocks)),),
        title=title,
        warnings=warnings,
    )
