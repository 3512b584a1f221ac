"""What a chunk is about beyond its own words: its document's title and its heading.

A reader who lands on page 14 of a paper knows which paper it is and which
section they are in; a chunk on its own does not. Anthropic's "contextual
retrieval" and the issue's probe both found that putting the document title
and heading in front of what is embedded and indexed helps the right passage
of the right document rank first. The context is stored apart from the text
(``chunks.context``), so what is shown and quoted, and the offsets, stay the
page's own.

PDF titles are often useless ("PowerPoint Presentation", "Microsoft Word -
draft.docx", a bare number), so such a title gives way to the file name.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath

MAX_TITLE_CHARS = 200
_GENERIC = re.compile(
    r"^(powerpoint presentation|untitled.*|slide \d+|document\d*|title|presentation\d*|"
    r"microsoft (word|powerpoint|excel)|slides?)$",
    re.IGNORECASE,
)
_OFFICE_PREFIX = re.compile(r"^microsoft (word|powerpoint|excel) - ", re.IGNORECASE)
_EXTENSION = re.compile(r"\.(docx?|pptx?|xlsx?|pdf|txt|md|html?)$", re.IGNORECASE)


def usable_title(title: str | None) -> str | None:
    """``title`` cleaned, or None when it says nothing (generic, or without two letters)."""
    if not title:
        return None
    cleaned = " ".join(_EXTENSION.sub("", _OFFICE_PREFIX.sub("", title.strip())).split())
    if _GENERIC.match(cleaned) or sum(ch.isalpha() for ch in cleaned) < 2:
        return None
    return cleaned[:MAX_TITLE_CHARS]


def file_title(source_uri: str) -> str:
    """A readable title from a file name: extension dropped, ``-``/``_`` as spaces."""
    name = PurePosixPath(source_uri.split("?", 1)[0].rstrip("/")).name or source_uri
    stem = _EXTENSION.sub("", name)
    return " ".join(re.sub(r"[-_.+]+", " ", stem).split())[:MAX_TITLE_CHARS]


def document_label(title: str | None, source_uri: str) -> str:
    """The title a chunk's context names: the document's own when usable, else the file's."""
    return usable_title(title) or file_title(source_uri)


def chunk_context(label: str, heading: str | None) -> str:
    """The context stored for a chunk: the document label, then its heading if any."""
    if heading and heading.strip() and heading.strip() != label:
        return f"{label}\n{heading.strip()}"
    return label
