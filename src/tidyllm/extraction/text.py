"""Plain text, Markdown, JSON and CSV: one page each, decoded carefully.

Decoding: a BOM wins; otherwise strict UTF-8; otherwise Windows-1252 (the
usual encoding of text exported from older Windows tools), with a warning
so nobody mistakes it for certainty. Markdown blocks come from
``markdown-it-py`` (already installed with Rich; CommonMark-correct, so a
``#`` inside a code fence is not a heading). JSON becomes ``path: value``
lines, which is what people search for.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
from pathlib import Path
from typing import Any

from tidyllm.extraction.failures import fail
from tidyllm.extraction.limits import Deadline, ExtractLimits
from tidyllm.extraction.model import Block, ExtractedDocument, Page
from tidyllm.extraction.quality import normalise

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_BLANK_LINES = re.compile(r"\n\s*\n")


def read_text(path: Path) -> tuple[str, tuple[str, ...]]:
    """The file decoded to ``str`` plus any warning about how it was decoded."""
    data = path.read_bytes()
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding), ()
            except UnicodeDecodeError as exc:
                raise fail("corrupt", f"the text is not valid {encoding}") from exc
    try:
        return data.decode("utf-8"), ()
    except UnicodeDecodeError:
        pass
    text = data.decode("cp1252", errors="replace")
    return text, ("the text is not UTF-8; it was read as Windows-1252",)


def _doc(mime: str, text: str, blocks: list[Block], warnings: tuple[str, ...]) -> ExtractedDocument:
    if not text.strip():
        raise fail("empty", "the file contains no text")
    headings = [b.text for b in blocks if b.kind == "heading"]
    return ExtractedDocument(
        mime=mime,
        pages=(Page(number=1, text=text, blocks=tuple(blocks)),),
        title=headings[0] if headings else None,
        warnings=warnings,
    )


def extract_txt(path: Path, limits: ExtractLimits, deadline: Deadline) -> ExtractedDocument:
    """Paragraphs are runs of lines separated by blank lines."""
    raw, warnings = read_text(path)
    text = normalise(raw)
    blocks = [Block("paragraph", p.strip()) for p in _BLANK_LINES.split(text) if p.strip()]
    return _doc("text/plain", text, blocks, warnings)


_MD_BLOCKS = {
    "heading_open": "heading",
    "paragraph_open": "paragraph",
    "bullet_list_open": "list",
    "ordered_list_open": "list",
    "table_open": "table",
    "fence": "paragraph",
    "code_block": "paragraph",
    "blockquote_open": "paragraph",
    "html_block": "paragraph",
}


def extract_md(path: Path, limits: ExtractLimits, deadline: Deadline) -> ExtractedDocument:
    """Top-level Markdown blocks; a heading's text is its inline content without ``#``."""
    from markdown_it import MarkdownIt

    raw, warnings = read_text(path)
    text = normalise(raw)
    lines = text.split("\n")
    tokens = MarkdownIt("commonmark").enable("table").parse(text)
    blocks = []
    for i, token in enumerate(tokens):
        kind = _MD_BLOCKS.get(token.type)
        if kind is None or token.level != 0 or token.map is None:
            continue
        if kind == "heading":
            blocks.append(Block("heading", tokens[i + 1].content.strip(), int(token.tag[1:])))
        else:
            source = "\n".join(lines[token.map[0] : token.map[1]]).strip()
            if source:
                blocks.append(Block(kind, source))  # type: ignore[arg-type]
    return _doc("text/markdown", text, blocks, warnings)


def extract_json(path: Path, limits: ExtractLimits, deadline: Deadline) -> ExtractedDocument:
    """One ``path: value`` line per scalar; each top-level member is a block."""
    raw, warnings = read_text(path)
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise fail("corrupt", f"the JSON is not valid ({_json_reason(exc)})") from exc
    if isinstance(data, dict):
        members = [(str(k), v) for k, v in data.items()]
    elif isinstance(data, list):
        members = [(f"[{i}]", v) for i, v in enumerate(data)]
    else:
        members = [("", data)]
    blocks = []
    try:
        for name, value in members:
            deadline.check()
            lines = list(_flatten(name, value))
            if lines:
                blocks.append(Block("paragraph", "\n".join(lines)))
    except RecursionError as exc:
        raise fail("corrupt", "the JSON is nested too deeply") from exc
    doc = _doc("application/json", "\n".join(b.text for b in blocks), blocks, warnings)
    title = data.get("title") if isinstance(data, dict) else None
    if isinstance(title, str) and title.strip():
        return ExtractedDocument(
            mime=doc.mime, pages=doc.pages, title=title.strip(), warnings=doc.warnings
        )
    return doc


def _json_reason(exc: Exception) -> str:
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    if isinstance(exc, json.JSONDecodeError):
        return f"{exc.msg} at line {exc.lineno} column {exc.colno}"
    return type(exc).__name__


def _flatten(prefix: str, value: Any):
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _flatten(f"{prefix}.{key}" if prefix else str(key), item)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _flatten(f"{prefix}[{index}]", item)
    elif value is not None and str(value).strip():
        rendered = " ".join(str(value).split())
        yield f"{prefix}: {rendered}" if prefix else rendered


def extract_csv(path: Path, limits: ExtractLimits, deadline: Deadline) -> ExtractedDocument:
    """The rows as one table block; the delimiter is sniffed (comma, semicolon, tab, pipe)."""
    raw, warnings = read_text(path)
    sample = raw[: 64 * 1024]
    try:
        dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    rows = []
    try:
        for index, row in enumerate(csv.reader(io.StringIO(raw, newline=""), dialect)):
            if index % 1000 == 0:
                deadline.check()
            cells = [" ".join(c.split()) for c in row]
            if any(cells):
                rows.append(" | ".join(cells))
    except csv.Error as exc:
        raise fail("corrupt", f"the CSV cannot be parsed ({exc})") from exc
    table = "\n".join(rows)
    return _doc("text/csv", table, [Block("table", table)] if table else [], warnings)
