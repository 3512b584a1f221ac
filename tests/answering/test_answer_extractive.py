"""The offline extractive answerer through ask(): the sentence that answers the question type,
quoted exactly and cited, in every retrieval mode; clear errors or "not found" for odd input.

Real embedded PostgreSQL and the real all-MiniLM-L6-v2 embedder; the domain (conftest
``PAGES``) puts a no-number sentence with more word overlap next to the one with the number.
"""

from __future__ import annotations

import pytest

from tidyllm.answering import NOT_FOUND, ask
from tidyllm.answering.extractive import extractive_answer, score_sentences
from tidyllm.answering.sentences import Sentence, split_sentences
from tidyllm.answering.sources import Source
from tidyllm.errors import SearchError
from tidyllm.knowledge.search import Hit

HOW_MANY = "How many reviewers did the unit recruit for the cycle?"


def _source(number: int, text: str, page: int = 1) -> Source:
    hit = Hit(
        number, 1, "mem://doc", "Doc", page, 0, len(text), None, text, {}, 1.0, None, None, 1, None
    )
    return Source(number, hit)


def _first_quote(text: str) -> str:
    return text.split("\u201d")[0].lstrip("\u201c")


def test_the_number_sentence_wins_over_more_word_overlap(sm) -> None:
    overlap = (
        "The unit recruited reviewers for the cycle, and the reviewers the unit recruited "
        "for the cycle validated models."
    )
    number = "In total, approximately 85 such reviewers took part in the validation work."
    sources = [_source(1, overlap, 2), _source(2, number, 3)]
    embedder = sm.embedder()
    vector = embedder.embed_query(HOW_MANY)
    sentences = [Sentence(sources[0], overlap), Sentence(sources[1], number)]
    relevance, scores = score_sentences(HOW_MANY, vector, sentences, embedder)
    assert relevance[0] > relevance[1]  # the overlap sentence is the closer match on words...
    assert scores[1] > scores[0]  # ...but the number sentence answers "how many"
    answer = extractive_answer(HOW_MANY, vector, sources, embedder)
    assert answer is not None and answer.startswith(f"\u201c{number}\u201d [2]")


def test_ask_quotes_the_number_first_and_cites_its_page(mv) -> None:
    sm, uri = mv
    answer = ask(sm, "mv", HOW_MANY, trace=False)
    assert answer.found and answer.dropped == ()
    assert "approximately 85 such reviewers" in _first_quote(answer.text)
    assert answer.citations[0].page == 3 and answer.citations[0].source_uri == uri


@pytest.mark.parametrize(
    ("question", "phrase", "page"),
    [
        ("When did the Board issue the guidance?", "April 2011", 3),
        ("Which committee will replace the unit?", "Model Validation Oversight Committee", 3),
        ("What are late-stage changes?", "changes implemented by model developers", 4),
    ],
)
def test_ask_quotes_the_sentence_of_the_question_type_first(mv, question, phrase, page) -> None:
    sm, _ = mv
    answer = ask(sm, "mv", question, trace=False)
    assert phrase in _first_quote(answer.text)
    assert answer.citations[0].page == page


@pytest.mark.parametrize("mode", ["hybrid", "dense", "text"])
def test_every_retrieval_mode_answers_with_the_extractive_answerer(mv, mode) -> None:
    sm, _ = mv
    answer = ask(sm, "mv", HOW_MANY, mode=mode, trace=False)
    assert answer.found and "85" in _first_quote(answer.text)
    assert all(c.valid and c.quote for c in answer.citations)


def test_text_mode_still_says_not_found_for_an_unrelated_question(mv) -> None:
    sm, _ = mv
    answer = ask(sm, "mv", "What is the boiling point of mercury in kelvin?", mode="text")
    assert not answer.found and answer.text == NOT_FOUND


def test_an_unknown_mode_is_a_clear_error(mv) -> None:
    sm, _ = mv
    with pytest.raises(SearchError, match="mode must be one of hybrid, dense, text"):
        ask(sm, "mv", HOW_MANY, mode="fuzzy", trace=False)


@pytest.mark.parametrize("question", ["", "   ", "\x00", None, 42, "x" * 1_000_001])
def test_hostile_questions_are_clear_errors(mv, question) -> None:
    sm, _ = mv
    with pytest.raises(SearchError):
        ask(sm, "mv", question, trace=False)


@pytest.mark.parametrize(
    "question",
    [
        "?",
        "🦀🦀🦀",
        "'; DROP TABLE chunks; --",
        "how many how many how many",
        "reviewers " * 20_000,
        "Ω≈ç√∫ \u202e\u200b",
        "When? Who? Which? Why?",
    ],
)
@pytest.mark.parametrize("mode", ["hybrid", "text"])
def test_odd_questions_answer_or_say_not_found(mv, question, mode) -> None:
    sm, _ = mv
    answer = ask(sm, "mv", question, mode=mode, trace=False)
    assert answer.found or answer.text == NOT_FOUND
    assert all(c.valid for c in answer.citations)


def test_a_lead_in_is_quoted_with_its_list() -> None:
    text = (
        "Findings are classified into one of the following categories:\n"
        "• Level 1 findings: critical issues\n• Level 2 findings: important issues\n\n"
        "Reviewers then submit the reports."
    )
    sentences = [s.text for s in split_sentences(_source(1, text))]
    assert sentences[0] == (
        "Findings are classified into one of the following categories: • Level 1 findings: "
        "critical issues • Level 2 findings: important issues"
    )
    assert "Level 1 findings: critical issues" in sentences
