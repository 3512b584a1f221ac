"""Tell real text from garbage, so garbage is never returned as a document's text.

A PDF whose fonts lack a Unicode map yields private-use code points,
replacement characters or control bytes instead of words. Such a page is
treated as having no text layer (and is OCR'd when OCR is on).
"""

from __future__ import annotations

import unicodedata

_MIN_GOOD_RATIO = 0.85
_BAD_CATEGORIES = frozenset({"Cc", "Co", "Cs", "Cn"})  # control, private use, surrogate, unassigned


def normalise(text: str) -> str:
    """Unify line endings, drop NULs and trailing spaces that parsers leave behind."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    return "\n".join(line.rstrip() for line in text.split("\n")).strip()


def is_garbage(text: str) -> bool:
    """True when the text is mostly not readable characters (or has none at all).

    Whitespace is ignored; what remains must be at least 85 % characters that
    are assigned, not control, not private-use and not U+FFFD.
    """
    visible = [c for c in text if not c.isspace()]
    if not visible:
        return True
    bad = sum(1 for c in visible if c == "\ufffd" or unicodedata.category(c) in _BAD_CATEGORIES)
    return (len(visible) - bad) / len(visible) < _MIN_GOOD_RATIO
