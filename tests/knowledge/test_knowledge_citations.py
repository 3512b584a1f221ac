"""Citation checking: every [n] must name a retrieved source that contains the quote/claim."""

from __future__ import annotations

import pytest

from tidyllm.answering.citations import check_citations, normalise
from tidyllm.answering.sources import Source
from tidyllm.knowledge.search import Hit


def _hit(chunk_id: int, text: str, page: int) -> Hit:
    return Hit(
        chunk_id=chunk_id,
        document_id=1,
        source_uri="file:///report.pdf",
        title="Report",
        page=page,
        start=0,
        end=len(text),
        heading=None,
        text=text,
        metadata={},
        score=1.0,
        dense_similarity=0.5,
        text_score=None,
        dense_rank=chunk_id,
        text_rank=None,
    )


SOURCES = [
    Source(
        1,
        _hit(
            1,
            "The MVU recruited approximately 85 such reviewers from\nvarious Board divisions.",
            13,
        ),
    ),
    Source(
        2, _hit(2, "These reviewers performed model validation concurrently with their jobs.", 13)
    ),
    Source(
        3,
        _hit(
            3, "The Board selected the Federal Reserve Bank of Minneapolis to lead\nvalidation.", 16
        ),
    ),
]


def test_a_quote_found_in_its_source_is_valid_and_resolved_to_the_page() -> None:
    checked = check_citations('The unit hired "approximately 85 such reviewers" [1].', SOURCES)
    (citation,) = checked.citations
    assert citation.valid and citation.page == 13 and citation.chunk_id == 1
    assert checked.text == 'The unit hired "approximately 85 such reviewers" [1].'
    assert checked.dropped == ()


def test_a_quote_spanning_a_line_break_with_curly_quotes_still_matches() -> None:
    checked = check_citations("“reviewers from various Board divisions” [1]", SOURCES)
    assert checked.citations[0].valid


def test_a_quote_that_is_not_in_the_cited_source_is_dropped_and_counted() -> None:
    checked = check_citations('It hired "approximately 85 such reviewers" [3].', SOURCES)
    assert [c.reason for c in checked.dropped] == ["quoted text is not in the cited source"]
    assert "[3]" not in checked.text
    assert checked.valid == ()


def test_a_source_number_that_was_not_retrieved_is_dropped() -> None:
    checked = check_citations(
        "Reviewers worked part time [7]. Minneapolis will lead validation [3].", SOURCES
    )
    assert [c.number for c in checked.dropped] == [7]
    assert checked.dropped[0].reason == "not a retrieved source"
    assert [c.number for c in checked.valid] == [3]
    assert "[7]" not in checked.text and "[3]" in checked.text


def test_an_unquoted_claim_must_be_supported_by_the_cited_source() -> None:
    good = check_citations("Reviewers performed model validation concurrently [2].", SOURCES)
    bad = check_citations("The Board raised interest rates sharply in March [2].", SOURCES)
    assert good.citations[0].valid
    assert not bad.citations[0].valid
    assert bad.citations[0].reason == "the cited source does not support the claim"


def test_grouped_markers_keep_only_the_valid_numbers() -> None:
    checked = check_citations('"model validation" [2, 9]', SOURCES)
    assert [c.number for c in checked.valid] == [2]
    assert [c.number for c in checked.dropped] == [9]
    assert checked.text.endswith("[2]")


@pytest.mark.parametrize(
    "answer",
    [
        "",
        "no citations at all",
        "[",
        "[]",
        "[abc]",
        "[" + "9" * 50 + "]",
        '"unterminated [1]',
        "\x00[1]",
    ],
)
def test_hostile_answers_never_crash(answer: str) -> None:
    checked = check_citations(answer, SOURCES)
    assert all(c.number in (1, 2, 3) or not c.valid for c in checked.citations)


def test_normalise_removes_pdf_artefacts() -> None:
    assert normalise("late\ufffestage  Changes\u00ad") == normalise("latestage changes")
