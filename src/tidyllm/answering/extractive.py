"""The offline answerer: quote the retrieved sentence that answers the question, best first.

It makes nothing up: the answer is one to three sentences copied from the
sources (:mod:`tidyllm.answering.sentences`), each quoted and cited. A
sentence's score has two parts:

* **relevance**: cosine similarity to the question (the retrieval embedder;
  every candidate is embedded once) plus a bonus for holding the question's
  content words, each weighted by how rare it is among the candidates (a word
  in every sentence tells nothing apart);
* **answer type**: the question is classified
  (:mod:`tidyllm.answering.question_type`: how many, when, who, what is...)
  and the relevance is multiplied by ``1 + TYPE_WEIGHT * match``, where
  ``match`` (:mod:`tidyllm.answering.answer_type`) is 1 when the sentence holds
  that kind of answer tied to what was asked ("85 such reviewers" for "how
  many reviewers"), 0.5 when it holds that kind at all, 0 otherwise.

* **retrieval**: the score is also multiplied by ``1 + RETRIEVAL_WEIGHT *
  score / top score`` of the sentence's chunk (its rank score in the search:
  the RRF sum in hybrid mode). The answerer reads ten chunks (see
  :mod:`tidyllm.answering.ask`), and a sentence of a chunk both legs agree on
  is more often the answer than an equally close one from the tenth chunk;
  on the tune questions this keeps the top chunk's quote when deeper chunks
  offer look-alikes (a table row of the wrong table).

The multiplication keeps an unrelated sentence with a number from winning,
and the gate is on relevance alone: when no sentence reaches
:data:`MIN_SENTENCE_SCORE` the answer is "not found" rather than a quote of
something unrelated.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np

from tidyllm.answering.answer_type import answer_match, stem
from tidyllm.answering.citations import content_words
from tidyllm.answering.question_type import classify_question
from tidyllm.answering.sentences import Sentence, split_sentences
from tidyllm.answering.sources import Source

MAX_SENTENCES = 3
MIN_SENTENCE_SCORE = 0.35
#: Further sentences must score at least this fraction of the best. 0.80 rather than 0.85:
#: with ten chunks read, the answer's second quote is more often the one that holds the
#: phrase (tune questions: phrase 47 -> 51 of 88 with the retrieval weight, right page equal).
KEEP_WITHIN = 0.80
LEXICAL_WEIGHT = 0.25
TYPE_WEIGHT = 0.5
#: Weight of the sentence's chunk's retrieval score (relative to the top chunk's); 0.1 and 0.2
#: scored the same on the tune questions, 0.3 lost a right page.
RETRIEVAL_WEIGHT = 0.1
MAX_ANSWER_CHARS = 900

__all__ = ["Sentence", "extractive_answer", "score_sentences", "split_sentences"]


def _stems(text: str) -> set[str]:
    return {stem(w) for w in content_words(text)}


def _relevance(question: str, sentences: Sequence[Sentence], cosine: np.ndarray) -> list[float]:
    """Cosine plus the share of the question's content words held, weighted by rarity."""
    asked = _stems(question)
    held = [_stems(s.text) & asked for s in sentences]
    frequency = Counter(w for words in held for w in words)
    n = len(sentences)
    weight = {w: math.log((n + 1) / (frequency[w] + 0.5)) for w in asked}
    total = sum(weight.values())
    return [
        float(c) + (LEXICAL_WEIGHT * sum(weight[w] for w in words) / total if total else 0.0)
        for c, words in zip(cosine, held, strict=True)
    ]


def score_sentences(
    question: str, query_vector: np.ndarray, sentences: Sequence[Sentence], embedder: Any
) -> tuple[list[float], list[float]]:
    """``(relevance, score)`` of every sentence; ``score`` includes the answer-type factor."""
    vectors = embedder.embed([s.text for s in sentences])
    cosine = vectors @ np.asarray(query_vector, dtype=np.float32)
    relevance = _relevance(question, sentences, cosine)
    qtype = classify_question(question)
    retrieval = _retrieval(sentences)
    scores = [
        r
        * (1.0 + TYPE_WEIGHT * answer_match(qtype, s.text, question))
        * (1.0 + RETRIEVAL_WEIGHT * p)
        for r, s, p in zip(relevance, sentences, retrieval, strict=True)
    ]
    return relevance, scores


def _retrieval(sentences: Sequence[Sentence]) -> list[float]:
    """Each sentence's chunk score over the best chunk score (0..1; all 0 if none is positive).

    The ratio, not the rank: hybrid's RRF sum is about halved for a chunk only one leg found,
    while two chunks with nearly equal scores should weigh nearly the same.
    """
    top = max((s.source.hit.score for s in sentences), default=0.0)
    if top <= 0:
        return [0.0] * len(sentences)
    return [max(0.0, s.source.hit.score) / top for s in sentences]


def extractive_answer(
    question: str, query_vector: np.ndarray, sources: Sequence[Source], embedder: Any
) -> str | None:
    """An answer of quoted, cited source sentences (best first), or None when none is close."""
    sentences = [s for source in sources for s in split_sentences(source)]
    if not sentences:
        return None
    relevance, scores = score_sentences(question, query_vector, sentences, embedder)
    if max(relevance) < MIN_SENTENCE_SCORE:
        return None
    order = sorted(range(len(sentences)), key=lambda i: (-scores[i], i))
    best = scores[order[0]]
    chosen: list[Sentence] = []
    seen: set[str] = set()
    length = 0
    for i in order:
        sentence = sentences[i]
        if len(chosen) == MAX_SENTENCES or scores[i] < best * KEEP_WITHIN:
            break
        if relevance[i] < MIN_SENTENCE_SCORE or sentence.text in seen:
            continue
        if any(sentence.text in s or s in sentence.text for s in seen):
            continue  # a list item already quoted with its lead-in, or the other way round
        if length + len(sentence.text) > MAX_ANSWER_CHARS and chosen:
            continue
        chosen.append(sentence)
        seen.add(sentence.text)
        length += len(sentence.text)
    if not chosen:
        return None
    return " ".join(f"\u201c{s.text}\u201d [{s.source.number}]" for s in chosen)
