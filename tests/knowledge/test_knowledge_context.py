"""Contextual chunks: the title/heading context and abbreviation aliases are indexed, not shown."""

from __future__ import annotations

import pytest

from tidyllm.extraction.model import ExtractedDocument, Page
from tidyllm.knowledge import create_domain, index_document, search
from tidyllm.knowledge.abbreviations import aliases, find_abbreviations
from tidyllm.knowledge.context import chunk_context, document_label, file_title, usable_title


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("PowerPoint Presentation", None),
        ("Microsoft Word - Model Risk Policy.docx", "Model Risk Policy"),
        ("12028274", None),
        ("", None),
        (None, None),
        (
            "  Studies on the Validation of Internal Rating Systems ",
            "Studies on the Validation of Internal Rating Systems",
        ),
    ],
)
def test_usable_title_drops_titles_that_say_nothing(title, expected) -> None:
    assert usable_title(title) == expected


def test_document_label_falls_back_to_the_file_name() -> None:
    assert file_title("s3://bucket/in/ml-model-validation_best-practice.pdf") == (
        "ml model validation best practice"
    )
    assert document_label("PowerPoint Presentation", "file:///x/2019-Model-Validation.pdf") == (
        "2019 Model Validation"
    )
    assert document_label("Stress Testing Review", "file:///x/a.pdf") == "Stress Testing Review"
    assert chunk_context("Report", "Findings") == "Report\nFindings"
    assert chunk_context("Report", None) == "Report"


def test_abbreviations_are_found_and_the_other_form_is_added() -> None:
    pages = [
        "The Board supervises bank holding companies (BHCs) and uses the Comprehensive "
        "Capital Analysis and Review (CCAR). A probability of default (PD) is estimated.",
        "Not an abbreviation (see page 4) nor (a), nor (e.g.).",
    ]
    pairs = find_abbreviations(pages)
    assert pairs == {
        "BHCs": "bank holding companies",
        "CCAR": "Comprehensive Capital Analysis and Review",
        "PD": "probability of default",
    }
    assert aliases("Ten BHC failed; each BHCs report", pairs) == "bank holding companies"
    assert aliases("Bank holding companies must report", pairs) == "BHCs"
    assert aliases("The PD and the probability of default", pairs) == ""  # both forms there
    assert aliases("UPDATE: nothing defined here", pairs) == ""


def test_context_and_aliases_are_searchable_but_never_displayed(sm) -> None:
    create_domain(sm, "ctx")
    pages = (
        Page(1, "Supervisors examined bank holding companies (BHCs) in 2014."),
        Page(2, "Ten BHCs did not meet the capital requirement after the exercise."),
    )
    index_document(
        sm,
        domain="ctx",
        document=ExtractedDocument(mime="text/plain", pages=pages),
        source_uri="file:///reports/stress-test-review.pdf",
        version="1",
        content_hash="h1",
        title="PowerPoint Presentation",
    )
    query = "how many bank holding companies failed the requirement"
    result = search(sm, "ctx", query, k=5, mode="text")
    top = result.hits[0]
    assert top.page == 2
    assert top.text == pages[1].text  # the aliases and context are not in the displayed text
    assert pages[1].text[top.start : top.end] == top.text
    with sm.connection() as conn:
        context, alias = conn.execute(
            "SELECT context, aliases FROM chunks WHERE id = %s", (top.chunk_id,)
        ).fetchone()
    assert context.startswith("stress test review")  # the generic PDF title gave way
    assert alias == "bank holding companies"
    (only_title,) = search(sm, "ctx", "stress test review", mode="text", k=1).hits
    assert only_title.text_score and only_title.text_score > 0


def test_indexing_without_context_keeps_the_aliases(sm) -> None:
    create_domain(sm, "plain")
    index_document(
        sm,
        domain="plain",
        document=ExtractedDocument(
            mime="text/plain", pages=(Page(1, "The model validation unit (MVU) met. The MVU"),)
        ),
        source_uri="file:///a/report.pdf",
        version="1",
        content_hash="h",
        contextual=False,
    )
    with sm.connection() as conn:
        context, alias = conn.execute("SELECT context, aliases FROM chunks").fetchone()
    assert (context, alias) == ("", "")  # both forms are in this chunk: nothing to add
