"""score_answer on hand-made answers: right page cited (valid citations only), phrase contained."""

from __future__ import annotations

import pytest

from tidyllm.answering import NOT_FOUND, Answer, Citation
from tidyllm.answering.scoring import AnswerScore, ScoreTally, norm, score_answer

URI = "beir/report.pdf"


def _citation(page: int, *, valid: bool = True, uri: str = URI) -> Citation:
    reason = None if valid else "quoted text is not in the cited source"
    return Citation(1, 7, uri, "Report", page, "quoted", valid, reason)


def _answer(text: str, citations=(), dropped=(), found: bool = True) -> Answer:
    return Answer("q?", text, found, tuple(citations), tuple(dropped), (), "extractive", None, "q?")


def test_a_right_page_and_the_phrase() -> None:
    answer = _answer(
        "\u201cThe MVU recruited approximately 85 such reviewers.\u201d [1]", [_citation(13)]
    )
    score = score_answer(answer, "approximately 85 such reviewers", {(URI, 13), (URI, 19)})
    assert score == AnswerScore(cites_right_page=True, contains_phrase=True)


def test_a_wrong_page_or_another_document_is_not_a_right_page() -> None:
    answer = _answer("85 reviewers [1] [2]", [_citation(12), _citation(13, uri="beir/other.pdf")])
    assert not score_answer(answer, "85 reviewers", {(URI, 13)}).cites_right_page


def test_dropped_citations_never_count() -> None:
    answer = _answer("85 reviewers", [], dropped=[_citation(13, valid=False)])
    assert not score_answer(answer, "85", [(URI, 13)]).cites_right_page
    invalid_but_listed = _answer("85 reviewers", [_citation(13, valid=False)])
    assert not score_answer(invalid_but_listed, "85", [(URI, 13)]).cites_right_page


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("approximately  85\nsuch reviewers", "approximately 85 such reviewers"),  # whitespace
        ("APPROXIMATELY 85 SUCH REVIEWERS", "approximately 85 such reviewers"),  # case
        ("key-per\u00adsonnel dependencies", "key-personnel dependencies"),  # soft hyphen
        ("\uff18\uff15 reviewers", "85 reviewers"),  # full-width digits (NFKC)
        ("Stra\u00dfe", "STRASSE"),  # casefold
    ],
)
def test_the_phrase_is_compared_after_normalisation(text: str, phrase: str) -> None:
    assert score_answer(_answer(text), phrase, ()).contains_phrase


def test_a_missing_phrase_an_empty_phrase_and_not_found() -> None:
    assert not score_answer(_answer("85 reviewers"), "86 reviewers", ()).contains_phrase
    assert not score_answer(_answer("85 reviewers"), "   ", ()).contains_phrase
    not_found = _answer(NOT_FOUND, found=False)
    assert score_answer(not_found, "documents", [(URI, 1)]) == AnswerScore(False, False)


def test_pages_may_be_any_collection_of_pairs() -> None:
    answer = _answer("x [1]", [_citation(3)])
    assert score_answer(answer, "x", [(URI, 3)]).cites_right_page
    assert score_answer(answer, "x", frozenset({(URI, 3)})).cites_right_page
    assert not score_answer(answer, "x", []).cites_right_page


def test_norm_and_tally() -> None:
    assert norm(" A\u00ad\ufffeb  C ") == "ab c"
    tally = ScoreTally()
    tally.add(AnswerScore(True, False))
    tally.add(AnswerScore(True, True))
    assert (tally.questions, tally.right_page, tally.phrase) == (2, 2, 1)
    assert tally.right_page_rate == 1.0 and tally.phrase_rate == 0.5
    assert ScoreTally().phrase_rate == 0.0
