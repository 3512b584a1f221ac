"""The offline answerer: quote the retrieved sentences that best answer the question.

It makes nothing up: the answer is one to three sentences copied from the
sources, each quoted and cited, chosen by cosine similarity to the question
(the same embedder as retrieval) plus a bonus for sharing the question's
content words. Below :data:`MIN_SENTENCE_SCORE` it says the answer is not
in the documents rather than quoting something unrelated.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tidyllm.answering.citations import content_words
from tidyllm.answering.sources import Source

MAX_SENTENCES = 3
MIN_SENTENCE_SCORE = 0.35
KEEP_WITHIN = 0.85  # further sentences must score at least this fraction of the best
LEXICAL_WEIGHT = 0.25
MAX_ANSWER_CHARS = 900
_MIN_CHARS, _MAX_CHARS = 25, 600
_BOUNDARY = re.compile(r"(?<=[.!?])[\"”’)]?\s+|\n\s*\n|\s*•\s*")


@dataclass(frozen=True)
class Sentence:
    """A sentence of a source, as it appears there (whitespace collapsed)."""

    source: Source
    text: str


def split_sentences(source: Source) -> list[Sentence]:
    """Sentences of a source, cut at sentence ends, blank lines and bullets."""
    out = []
    for part in _BOUNDARY.split(source.hit.text):
        text = " ".join(part.split())
        if _MIN_CHARS <= len(text) <= _MAX_CHARS and not text.endswith(":"):
            out.append(Sentence(source, text))
    return out


def extractive_answer(
    question: str, query_vector: np.ndarray, sources: Sequence[Source], embedder: Any
) -> str | None:
    """An answer of quoted, cited source sentences, or None when none is close enough."""
    sentences = [s for source in sources for s in split_sentences(source)]
    if not sentences:
        return None
    vectors = embedder.embed([s.text for s in sentences])
    similarity = vectors @ np.asarray(query_vector, dtype=np.float32)
    asked = content_words(question)
    scores = []
    for sentence, cosine in zip(sentences, similarity, strict=True):
        overlap = len(asked & content_words(sentence.text)) / len(asked) if asked else 0.0
        scores.append(float(cosine) + LEXICAL_WEIGHT * overlap)
    order = sorted(range(len(sentences)), key=lambda i: -scores[i])
    best = scores[order[0]]
    if best < MIN_SENTENCE_SCORE:
        return None
    chosen: list[Sentence] = []
    seen: set[str] = set()
    length = 0
    for i in order:
        sentence = sentences[i]
        if len(chosen) == MAX_SENTENCES or scores[i] < best * KEEP_WITHIN:
            break
        if sentence.text in seen or (length + len(sentence.text) > MAX_ANSWER_CHARS and chosen):
            continue
        chosen.append(sentence)
        seen.add(sentence.text)
        length += len(sentence.text)
    return " ".join(f"\u201c{s.text}\u201d [{s.source.number}]" for s in chosen)
