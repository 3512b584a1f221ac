"""Scoring one answer against a labelled question: did it cite a right page, does it say the answer?

A labelled question (``datasets/*/queries.jsonl``) has an answer phrase and the
pages that hold the answer. :func:`score_answer` checks two things, the same
for every provider (extractive, Bedrock, OpenAI-compatible):

* ``cites_right_page``: at least one *valid* citation (checked by
  :mod:`tidyllm.answering.citations`; dropped ones never count) resolves to a
  ``(source_uri, page)`` among the relevant pages;
* ``contains_phrase``: the answer text contains the phrase after
  :func:`norm` (NFKC, soft hyphens and U+FFFE dropped, whitespace collapsed,
  case folded: the normalisation the datasets' phrases were checked with).

A "Not found" answer scores False on both.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tidyllm.answering.ask import Answer


def norm(text: str) -> str:
    """NFKC, soft hyphens and U+FFFE dropped, whitespace collapsed, case folded."""
    text = unicodedata.normalize("NFKC", text).replace("\ufffe", "").replace("\u00ad", "")
    return " ".join(text.split()).casefold()


@dataclass(frozen=True)
class AnswerScore:
    """How one answer fares against its labels."""

    cites_right_page: bool
    contains_phrase: bool


def score_answer(
    answer: Answer, phrase: str, relevant_pages: Collection[tuple[str, int]]
) -> AnswerScore:
    """Score ``answer`` against its answer phrase and the pages that hold the answer.

    ``relevant_pages`` holds ``(source_uri, page)`` pairs; an empty phrase never
    counts as contained (it would be in every answer).
    """
    wanted = {(str(uri), int(page)) for uri, page in relevant_pages}
    cited = {
        (c.source_uri, c.page)
        for c in answer.citations
        if c.valid and c.source_uri is not None and c.page is not None
    }
    needle = norm(phrase)
    contains = bool(answer.found and needle and needle in norm(answer.text))
    return AnswerScore(cites_right_page=bool(cited & wanted), contains_phrase=contains)


@dataclass
class ScoreTally:
    """Running totals of :class:`AnswerScore` for a set of questions."""

    questions: int = 0
    right_page: int = 0
    phrase: int = 0

    def add(self, score: AnswerScore) -> None:
        self.questions += 1
        self.right_page += score.cites_right_page
        self.phrase += score.contains_phrase

    @property
    def right_page_rate(self) -> float:
        return self.right_page / self.questions if self.questions else 0.0

    @property
    def phrase_rate(self) -> float:
        return self.phrase / self.questions if self.questions else 0.0
