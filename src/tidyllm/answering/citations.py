"""Checking every citation in an answer against the sources that were actually retrieved.

An answer cites sources as ``[n]`` (or ``[1, 3]``), optionally right after a
quotation: ``"exact words" [2]``. A citation is valid when

* ``n`` is one of the numbered sources given to the generator, and
* with a quotation: the quoted words occur in source ``n`` (compared after
  normalising case, whitespace, quote marks, dashes and PDF artefacts such as
  soft hyphens), or
* without one: most content words of the claim before the marker occur in
  source ``n`` (:data:`MIN_SUPPORT`), so a citation pinned to an unrelated
  source does not pass.

Invalid markers are removed from the answer text and counted, never shown.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from tidyllm.answering.sources import Source

MIN_SUPPORT = 0.6
_MARKER = re.compile(r"\[(\d{1,4}(?:\s*,\s*\d{1,4})*)\]")
_QUOTE_BEFORE = re.compile(r"[\"“]([^\"“”]{3,}?)[\"”]\s*$")
_WORD = re.compile(r"\w+", re.UNICODE)
_INVISIBLE = dict.fromkeys(map(ord, "\u00ad\ufffe\ufeff\u200b\u200c\u200d"), None)
_TRANSLATE = str.maketrans({"“": '"', "”": '"', "‘": "'", "’": "'", "–": "-", "—": "-"})
_STOP = frozenset(
    [
        "the",
        "and",
        "for",
        "that",
        "with",
        "this",
        "from",
        "are",
        "was",
        "were",
        "has",
        "have",
        "had",
        "been",
        "its",
        "their",
        "they",
        "them",
        "which",
        "what",
        "when",
        "where",
        "who",
        "whom",
        "whose",
        "will",
        "would",
        "can",
        "could",
        "should",
        "may",
        "might",
        "also",
        "into",
        "than",
        "then",
        "there",
        "these",
        "those",
        "such",
        "not",
        "but",
        "our",
        "your",
        "about",
        "over",
        "under",
        "more",
        "most",
        "other",
        "each",
        "any",
        "all",
        "some",
        "only",
        "very",
    ]
)


@dataclass(frozen=True)
class Citation:
    """One ``[n]`` in an answer, resolved to its source; ``reason`` says why it is invalid."""

    number: int
    chunk_id: int | None
    source_uri: str | None
    title: str | None
    page: int | None
    quote: str | None
    valid: bool
    reason: str | None = None


@dataclass(frozen=True)
class CheckedAnswer:
    """The answer with invalid citation markers removed, and every citation that was checked."""

    text: str
    citations: tuple[Citation, ...]

    @property
    def valid(self) -> tuple[Citation, ...]:
        return tuple(c for c in self.citations if c.valid)

    @property
    def dropped(self) -> tuple[Citation, ...]:
        return tuple(c for c in self.citations if not c.valid)


def normalise(text: str) -> str:
    """Text reduced for containment checks: NFKC, casefolded, one space between words."""
    text = unicodedata.normalize("NFKC", text).translate(_INVISIBLE).translate(_TRANSLATE)
    return " ".join(text.casefold().split())


def content_words(text: str) -> set[str]:
    """Words that carry meaning (3+ characters, not a stop word), casefolded."""
    return {w for w in _WORD.findall(normalise(text)) if len(w) >= 3 and w not in _STOP}


def _support(claim: str, source_text: str) -> float:
    words = content_words(claim)
    if not words:
        return 0.0
    return len(words & content_words(source_text)) / len(words)


def check_citations(answer: str, sources: Sequence[Source]) -> CheckedAnswer:
    """Verify every citation marker in ``answer`` against ``sources`` (numbered from 1)."""
    by_number = {s.number: s for s in sources}
    normalised = {s.number: normalise(s.hit.text) for s in sources}
    citations: list[Citation] = []
    pieces: list[str] = []
    cursor = 0
    for match in _MARKER.finditer(answer):
        before = answer[cursor : match.start()]
        quote_match = _QUOTE_BEFORE.search(before)
        quote = quote_match.group(1).strip() if quote_match else None
        claim = _claim(before)
        kept: list[int] = []
        for raw in match.group(1).split(","):
            number = int(raw)
            source = by_number.get(number)
            if source is None:
                citations.append(
                    Citation(number, None, None, None, None, quote, False, "not a retrieved source")
                )
                continue
            reason = None
            if quote is not None:
                if normalise(quote) not in normalised[number]:
                    reason = "quoted text is not in the cited source"
            elif _support(claim, source.hit.text) < MIN_SUPPORT:
                reason = "the cited source does not support the claim"
            hit = source.hit
            citations.append(
                Citation(
                    number,
                    hit.chunk_id,
                    hit.source_uri,
                    hit.title,
                    hit.page,
                    quote,
                    reason is None,
                    reason,
                )
            )
            if reason is None:
                kept.append(number)
        pieces.append(before)
        if kept:
            pieces.append("[" + ", ".join(str(n) for n in kept) + "]")
        else:
            pieces[-1] = pieces[-1].rstrip(" ") if match.end() < len(answer) else pieces[-1]
        cursor = match.end()
    pieces.append(answer[cursor:])
    return CheckedAnswer("".join(pieces).strip(), tuple(citations))


def _claim(before: str) -> str:
    """The claim a marker refers to: the text since the last sentence end or marker."""
    body = before.rstrip().rstrip(".!?;:")
    cut = max(body.rfind(mark) for mark in (". ", "! ", "? ", "\n", "]"))
    return body[cut + 1 :]
