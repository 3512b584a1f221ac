"""Fixtures for the answering tests: a session manager on a fresh database, and a small domain
whose pages are written so that word overlap and answer type disagree."""

from __future__ import annotations

import pytest

#: Page 2 shares most words with "How many reviewers did the unit recruit for the cycle?"
#: but holds no number; page 3 holds the number with fewer shared words.
PAGES = {
    1: "Annual report of the Model Validation Unit. Prepared by the Office of Inspector General.",
    2: (
        "The unit recruited reviewers for the stress test cycle from the Reserve Banks, and the "
        "reviewers the unit recruited for the cycle validated the models of the cycle. "
        "Recruiting reviewers for each cycle is how the unit staffs model validation."
    ),
    3: (
        "Staffing was broad. In total, approximately 85 such reviewers took part in validation "
        "work. The Board issued the guidance in April 2011. The Model Validation Oversight "
        "Committee will replace the unit by the end of 2016."
    ),
    4: (
        "Late-stage changes are changes implemented by model developers after the validation "
        "period concludes. Reviewers could not validate them because the period had ended."
    ),
}


def _index_pages(manager, domain: str = "mv") -> str:
    """Index :data:`PAGES` as one document into a new ``domain``; returns its source URI."""
    from tidyllm.extraction import ExtractedDocument, Page
    from tidyllm.knowledge import create_domain, index_document

    create_domain(manager, domain)
    index_document(
        manager,
        domain=domain,
        document=ExtractedDocument(
            mime="text/plain", pages=tuple(Page(n, t) for n, t in PAGES.items())
        ),
        source_uri="mem://mvu-report",
        version="1",
        content_hash="mvu",
        title="MVU report",
    )
    with manager.connection() as conn:
        conn.execute("ANALYZE chunks")
    return "mem://mvu-report"


@pytest.fixture
def index_pages():
    """The function that indexes :data:`PAGES` (for tests with their own session manager)."""
    return _index_pages


@pytest.fixture
def mv(sm):
    """(session manager, source uri): :data:`PAGES` indexed as one document into domain ``mv``."""
    return sm, _index_pages(sm)
