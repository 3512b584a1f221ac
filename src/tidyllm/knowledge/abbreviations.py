"""Abbreviations a document defines, so a question may use either form.

A report that writes "bank holding companies (BHCs)" once and "BHCs" on
every later page cannot be found by a question that says "bank holding
companies" - the full-text leg sees no shared word. Here each document's
definitions are found with the Schwartz & Hearst (2003) rule: a short form in
parentheses right after its long form, whose letters appear in order in the
long form, the first letter starting a word of it. At index time a chunk that
uses one form gets the other in ``chunks.aliases``, which is indexed for full
text search but never shown.

Written by hand (~40 lines) because the libraries that implement it
(scispacy, the ``abbreviations`` package) bring spaCy or are unmaintained.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

MAX_PAIRS = 500
_DEFINITION = re.compile(r"\(([A-Za-z][A-Za-z0-9&./-]{1,10})\)")  # short forms: 2-11 chars
_WORD = re.compile(r"[A-Za-z0-9&'-]+")


def _long_form(words: list[str], short: str) -> str | None:
    """The words before ``(short)`` that spell it (Schwartz & Hearst's backwards match)."""
    letters = [ch.lower() for ch in short if ch.isalnum()]
    if not letters or not short[0].isalpha():
        return None
    window = words[-min(len(letters) + 5, len(letters) * 2) :]
    text = " ".join(window).lower()
    s, position = len(letters) - 1, len(text) - 1
    while s >= 0:
        ch = letters[s]
        while position >= 0 and (
            text[position] != ch or (s == 0 and position > 0 and text[position - 1].isalnum())
        ):
            position -= 1
        if position < 0:
            return None
        s, position = s - 1, position - 1
    start = text.rfind(" ", 0, position + 1) + 1
    long_form = " ".join(window)[start:].strip()
    if len(long_form) <= len(short) or " " not in long_form:
        return None
    return long_form


def find_abbreviations(texts: Iterable[str]) -> dict[str, str]:
    """``{short form: long form}`` defined anywhere in ``texts`` (first definition wins)."""
    pairs: dict[str, str] = {}
    for text in texts:
        for match in _DEFINITION.finditer(text):
            short = match.group(1).rstrip(".")
            if short in pairs or not any(ch.isupper() for ch in short):
                continue
            words = _WORD.findall(text[max(0, match.start() - 200) : match.start()])
            long_form = _long_form(words, short)
            if long_form:
                pairs[short] = long_form
                if len(pairs) >= MAX_PAIRS:
                    return pairs
    return pairs


def aliases(text: str, pairs: Mapping[str, str]) -> str:
    """The other form of every defined abbreviation ``text`` uses (either form), one per line."""
    found: list[str] = []
    lowered = text.lower()
    for short, long_form in pairs.items():
        stem = short[:-1] if short.endswith("s") and short[:-1].isupper() else short
        uses_short = re.search(rf"(?<![A-Za-z0-9]){re.escape(stem)}s?(?![A-Za-z0-9])", text)
        uses_long = long_form.lower() in lowered
        if uses_short and not uses_long:
            found.append(long_form)
        elif uses_long and not uses_short:
            found.append(short)
    return "\n".join(found)
