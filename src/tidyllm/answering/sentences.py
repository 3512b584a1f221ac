"""Candidate sentences of a retrieved source, each exactly as it appears there.

A source is cut at sentence ends, blank lines and bullets. A lead-in that
ends with a colon ("... classified into one of the following categories:")
says nothing on its own, so it is offered together with the list items that
follow it, as one candidate copied from the source span (bullets included).
Table-of-contents lines (dot leaders) are no answers and are left out.
A piece too long to be one sentence (a table extracted from a PDF, one row a
line) is offered row by row: each line with two or more numbers, together with
the label lines just above it ("Swaps:(1)" before "Pay-fixed 146,628 ...").
Every candidate is the source's own text with whitespace collapsed, so a
quotation of it passes the citation check.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tidyllm.answering.sources import Source

MIN_CHARS, MAX_CHARS = 25, 600
MAX_LIST_CHARS = 700
_BOUNDARY = re.compile(r"(?<=[.!?])[\"”’)]?\s+|\n\s*\n|\s*•\s*")
_LEADER = re.compile(r"(?:\.\s?){5,}")  # a table-of-contents line: "Findings ......... 12"
_CELL = re.compile(r"\d[\d,.]*")
_LINE = re.compile(r"[^\n]+")


@dataclass(frozen=True)
class Sentence:
    """A sentence (or a lead-in with its list) of a source, whitespace collapsed."""

    source: Source
    text: str


def _segments(text: str) -> list[tuple[int, int, bool]]:
    """``(start, end, bullet)`` of each piece between boundaries; ``bullet``: a bullet ends it."""
    out = []
    cursor = 0
    for match in _BOUNDARY.finditer(text):
        out.append((cursor, match.start(), "•" in match.group(0)))
        cursor = match.end()
    out.append((cursor, len(text), False))
    return out


def split_sentences(source: Source) -> list[Sentence]:
    """Candidate sentences of ``source``, in order (lead-ins with their lists after them)."""
    text = source.hit.text
    out: list[Sentence] = []
    pieces = _segments(text)
    for i, (start, end, bullet) in enumerate(pieces):
        piece = " ".join(text[start:end].split())
        if piece.endswith(":") and bullet:
            last = i + 1
            while last + 1 < len(pieces) and pieces[last][2]:
                last += 1
            span = " ".join(text[start : pieces[last][1]].split()) if last < len(pieces) else ""
            if MIN_CHARS <= len(span) <= MAX_LIST_CHARS:
                out.append(Sentence(source, span))
            continue
        if _LEADER.search(piece):
            continue
        if MIN_CHARS <= len(piece) <= MAX_CHARS and not piece.endswith(":"):
            out.append(Sentence(source, piece))
        elif len(piece) > MAX_CHARS:
            out.extend(Sentence(source, row) for row in _table_rows(text, start, end))
    return out


def _table_rows(text: str, start: int, end: int) -> list[str]:
    """The rows of a table too long to be one candidate: each line with two or more numbers,
    with the label lines just above it ("Swaps:(1)" before "Pay-fixed 146,628 ...")."""
    rows = []
    label = None  # where the label lines before the next row start
    for line in _LINE.finditer(text, start, end):
        if len(_CELL.findall(line.group(0))) < 2:
            label = line.start() if label is None else label
            continue
        row = " ".join(text[label if label is not None else line.start() : line.end()].split())
        if len(row) > MAX_CHARS:
            row = " ".join(line.group(0).split())
        if len(row) >= MIN_CHARS:
            rows.append(row)
        label = None
    return rows
