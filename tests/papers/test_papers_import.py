"""papers add against the arXiv/Crossref test double (tests/paper_service_doubles.py): the
PDF is ingested and searchable with the fetched metadata; a DOI is a metadata-only document;
404, 429 with Retry-After, a malformed feed, a PDF that is not a PDF and a timeout each end
in one clear error with nothing stored."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "extraction"))
from extraction_builders import text_pdf

from paper_service_doubles import PaperServiceDouble
from tidyllm.knowledge import create_domain
from tidyllm.knowledge.metadata import read_metadata
from tidyllm.knowledge.paper_sources import PaperSourceError
from tidyllm.knowledge.papers import add_paper, add_papers
from tidyllm.session import UnifiedSessionManager

PAPER = {
    "id": "2410.11842v1",
    "title": "MoH: Multi-Head Attention\n  as Mixture-of-Head Attention",
    "authors": ["Peng Jin", "Bo Zhu", "Li Yuan", "Shuicheng Yan"],
    "abstract": "In this work, we upgrade the multi-head attention mechanism,\n the core of "
    "the Transformer model.",
    "doi": "10.48550/arXiv.2410.11842",
}


@pytest.fixture
def double():
    with PaperServiceDouble() as service:
        service.papers[PAPER["id"]] = PAPER
        service.pdfs[PAPER["id"]] = text_pdf(b"Mixture of head attention routes tokens to heads.")
        service.works["10.1000/risk.2021"] = {
            "doi": "10.1000/risk.2021",
            "title": "Model Risk\nManagement in Banks",
            "authors": ["Ada Lovelace", "Alan Turing"],
        }
        yield service


@pytest.fixture
def psm(data_dir, database_url, double):
    with UnifiedSessionManager(
        data_dir=data_dir, database={"url": database_url}, papers=double.settings()
    ) as manager:
        create_domain(manager, "papers")
        yield manager


def stored(sm) -> tuple[int, ...]:
    with sm.connection() as conn:
        return tuple(
            conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: S608 - fixed names
            for table in ("documents", "document_metadata_layers", "collection_documents", "files")
        )


def test_arxiv_paper_is_fetched_ingested_and_searchable(psm, double):
    from tidyllm.knowledge.search import search

    added = add_paper(psm, "papers", "arxiv:2410.11842", collection="attention")
    assert (added.status, added.has_file) == ("added", True)
    assert added.title == "MoH: Multi-Head Attention as Mixture-of-Head Attention"
    with psm.connection() as conn:
        meta = read_metadata(conn, added.document_id)
        chunks = conn.execute(
            "SELECT chunk_count FROM documents WHERE id = %s", (added.document_id,)
        ).fetchone()[0]
    assert meta.authors == ("Peng Jin", "Bo Zhu", "Li Yuan", "Shuicheng Yan")
    assert (meta.year, meta.date, meta.arxiv_id) == (2024, "2024-10-15", "2410.11842v1")
    assert meta.doi == "10.48550/arXiv.2410.11842"
    assert meta.url == "https://arxiv.org/abs/2410.11842v1"
    assert "\n" not in meta.abstract and meta.abstract.startswith("In this work")
    assert meta.provenance["title"] == "fetched" and chunks >= 1
    hits = search(psm, "papers", "mixture of head attention routes tokens").hits
    assert hits and hits[0].document_id == added.document_id
    # the polite client identified itself (User-Agent mailto is set; the feed was asked once)
    assert [p for p, _ in double.requests if p.startswith("/api/")] == [
        "/api/query?id_list=2410.11842&max_results=1"
    ]
    again = add_paper(psm, "papers", "arxiv:2410.11842", collection="attention")
    assert (again.document_id, again.status) == (added.document_id, "unchanged")


def test_doi_is_a_metadata_only_document(psm):
    added = add_paper(psm, "papers", "doi:10.1000/risk.2021")
    assert (added.status, added.has_file) == ("added", False)
    with psm.connection() as conn:
        meta = read_metadata(conn, added.document_id)
        row = conn.execute(
            "SELECT source_uri, chunk_count, metadata->>'kind' FROM documents WHERE id = %s",
            (added.document_id,),
        ).fetchone()
    assert row == ("doi:10.1000/risk.2021", 0, "metadata-only")
    assert meta.title == "Model Risk Management in Banks"
    assert (meta.year, meta.date, meta.fields["journal"]) == (
        2021,
        "2021-03-04",
        "Journal of Tests",
    )
    assert add_paper(psm, "papers", "doi:10.1000/risk.2021").status == "unchanged"


@pytest.mark.parametrize(
    ("ref", "fault", "code", "words"),
    [
        ("arxiv:2410.11842", "missing", "not_found", "was not found"),
        ("arxiv:9999.99999", None, "not_found", "was not found"),
        ("arxiv:2410.11842", "malformed", "malformed", "not a usable Atom feed"),
        ("arxiv:2410.11842", "not_pdf", "not_pdf", "is not a PDF"),
        ("arxiv:2410.11842", "slow", "timeout", "did not answer in time"),
        ("doi:10.1000/risk.2021", "missing", "not_found", "was not found"),
        ("doi:10.1000/nothing", None, "not_found", "was not found"),
    ],
)
def test_each_fault_is_one_clear_error_and_nothing_is_stored(psm, double, ref, fault, code, words):
    if fault:
        key = ref.split(":", 1)[1]
        double.faults[f"pdf:{PAPER['id']}" if fault == "not_pdf" else key] = fault
    with pytest.raises(PaperSourceError) as caught:
        add_paper(psm, "papers", ref, collection="attention")
    assert caught.value.code == code and words in str(caught.value)
    assert stored(psm) == (0, 0, 0, 0)
    with psm.connection() as conn:
        assert conn.execute("SELECT count(*) FROM collections").fetchone()[0] == 0


def test_429_retry_after_is_honoured(psm, double):
    double.faults["2410.11842"] = "limited"  # a request inside the second gets 429 again
    added = add_paper(psm, "papers", "arxiv:2410.11842")
    feed = [status for path, status in double.requests if path.startswith("/api/")]
    assert feed == [429, 200]  # the client waited out Retry-After: its second try was served
    assert added.has_file


def test_retry_after_longer_than_allowed_is_a_clear_error(data_dir, database_url, double):
    double.faults["2410.11842"] = "limited"
    settings = double.settings(max_retry_after=0.5)
    with UnifiedSessionManager(
        data_dir=data_dir, database={"url": database_url}, papers=settings
    ) as sm:
        create_domain(sm, "papers")
        with pytest.raises(PaperSourceError, match="asks to wait 1 s") as caught:
            add_paper(sm, "papers", "arxiv:2410.11842")
        assert caught.value.code == "rate_limited"
        assert stored(sm) == (0, 0, 0, 0)


def test_add_papers_goes_on_after_a_failure(psm, double):
    double.faults["10.1000/nothing"] = "missing"
    results = add_papers(psm, "papers", ["doi:10.1000/nothing", "doi:10.1000/risk.2021"])
    assert isinstance(results[0], PaperSourceError) and results[1].status == "added"


def test_a_bad_reference_fails_before_anything_is_fetched(psm, double):
    with pytest.raises(PaperSourceError, match="not an arXiv identifier"):
        add_papers(psm, "papers", ["doi:10.1000/risk.2021", "arxiv:not-an-id"])
    assert double.requests == [] and stored(psm) == (0, 0, 0, 0)


def test_the_pdf_arriving_takes_over_a_metadata_only_paper(psm, double, tmp_path):
    from test_papers_legacy_bibtex import make_legacy

    from tidyllm.knowledge.papers import import_legacy

    report = import_legacy(psm, "papers", make_legacy(tmp_path / "whitepapers"))
    placeholder = next(p for p in report.papers if p.missing)
    assert placeholder.paper_id == "2303.00003"
    double.papers["2303.00003v2"] = {**PAPER, "id": "2303.00003v2", "title": "Art, Creativity"}
    double.pdfs["2303.00003v2"] = text_pdf(b"Diffusion models and creative art.")
    added = add_paper(psm, "papers", "arxiv:2303.00003")
    assert added.has_file and added.document_id != placeholder.document_id
    with psm.connection() as conn:
        gone = conn.execute(
            "SELECT count(*) FROM documents WHERE id = %s", (placeholder.document_id,)
        ).fetchone()[0]
        names = [
            r[0]
            for r in conn.execute(
                "SELECT c.name FROM collections c JOIN collection_documents d "
                "ON d.collection_id = c.id WHERE d.document_id = %s",
                (added.document_id,),
            )
        ]
        meta = read_metadata(conn, added.document_id)
    assert gone == 0 and names == ["AI-ML"]
    assert meta.arxiv_id == "2303.00003v2" and meta.title == "Art, Creativity"  # arXiv's
    assert meta.fields["y_score"] == "0.65" and meta.fields["legacy_id"] == "2303.00003"


def test_a_new_arxiv_version_replaces_the_old_one(psm, double):
    from tidyllm.knowledge.search import search

    first = add_paper(psm, "papers", "arxiv:2410.11842v1")
    double.papers["2410.11842v2"] = {**PAPER, "id": "2410.11842v2"}
    double.pdfs["2410.11842v2"] = text_pdf(b"Version two adds sparse gating to the heads.")
    second = add_paper(psm, "papers", "arxiv:2410.11842v2")
    with psm.connection() as conn:
        count = conn.execute("SELECT count(*) FROM documents").fetchone()[0]
        meta = read_metadata(conn, second.document_id)
    assert count == 1 and second.document_id == first.document_id
    assert meta.arxiv_id == "2410.11842v2"
    hits = search(psm, "papers", "sparse gating heads").hits
    assert hits and all("routes tokens" not in h.text for h in hits)


def test_papers_add_merges_a_file_the_domain_already_knows_as_that_paper(psm, tmp_path):
    """A file ingested earlier and edited to name the paper (arXiv id, no version): the
    fetched paper (v1, newer) is one document with it, its id and edits, v1's text."""
    from tidyllm.knowledge.ingest import ingest
    from tidyllm.knowledge.metadata import write_layer
    from tidyllm.knowledge.search import search

    (tmp_path / "moh-draft.pdf").write_bytes(text_pdf(b"A draft about routing with heads."))
    ingest(psm, "papers", [str(tmp_path / "moh-draft.pdf")], track=False)
    with psm.connection() as conn:
        (draft,) = conn.execute("SELECT id FROM documents").fetchone()
        write_layer(
            conn, draft, "edited", {"arxiv_id": "2410.11842", "notes": "mine"}, replace=True
        )
    added = add_paper(psm, "papers", "arxiv:2410.11842")
    assert (added.document_id, added.status, added.has_file) == (draft, "added", True)
    with psm.connection() as conn:
        assert conn.execute("SELECT count(*) FROM documents").fetchone()[0] == 1
        meta = read_metadata(conn, draft)
    assert (meta.notes, meta.title) == ("mine", PAPER["title"].replace("\n  ", " "))
    hits = search(psm, "papers", "mixture of head attention routes tokens").hits
    assert hits and {h.document_id for h in hits} == {draft}
    assert all("draft" not in h.text for h in hits)
