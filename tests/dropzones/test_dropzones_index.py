"""The ``index`` step for real: a local zone indexes into a knowledge domain.

Proves, through the knowledge module's public API and its tables: documents and
chunks exist with 1-based pages; a re-drop of the same bytes is a ``duplicate``
that adds nothing; a changed file under the same name is a new version whose
chunks replace the old ones (one current version per source) and search finds
the new text only. Bad input for the index step fails at once with a clear error.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from dropzone_helpers import open_dz, rows, tree, zone_conf

from tidyllm.knowledge import create_domain, search, show_domain

PIPELINE = "extract,index"

NOTES_V1 = (
    "# Heron survey\n\n"
    "The grey heron colony beside the Zwischenahner lake counted forty-one nests this spring. "
    "Volunteers ringed nineteen fledglings before the June storm.\n"
)
NOTES_V2 = (
    "# Heron survey\n\n"
    "A cormorant roost displaced the herons; the survey now records cormorant nests "
    "along the quarry ponds near Oldenburg.\n"
)


def make_review_docx(path: Path) -> Path:
    """A two-page DOCX (hard page break), written with python-docx."""
    import docx

    document = docx.Document()
    document.core_properties.title = "Dam Inspection Review"
    document.add_heading("Dam Inspection Review", level=1)
    document.add_paragraph("Seepage at the western abutment stayed below the alert threshold.")
    document.add_page_break()
    document.add_heading("Spillway", level=2)
    document.add_paragraph("The spillway gate hydraulics were overhauled in September.")
    document.save(str(path))
    return path


def chunks_by_source(dz) -> dict[str, list[tuple[str, int, str]]]:
    """source_uri -> [(document version, page, text)] straight from the tables."""
    out: dict[str, list[tuple[str, int, str]]] = {}
    with dz.sm.connection() as conn:
        for uri, version, page, text in conn.execute(
            "SELECT d.source_uri, d.version, c.page, c.text FROM chunks c "
            "JOIN documents d ON d.id = c.document_id ORDER BY d.source_uri, c.ordinal"
        ):
            out.setdefault(uri, []).append((version, page, text))
    return out


def documents(dz) -> list[tuple[str, str, str, int, int]]:
    with dz.sm.connection() as conn:
        return conn.execute(
            "SELECT source_uri, version, content_hash, chunk_count, page_count FROM documents "
            "ORDER BY source_uri"
        ).fetchall()


def test_index_duplicate_and_new_version_replace_chunks(data_dir, database_url, tmp_path):
    root = tmp_path / "zone"
    (root / "incoming").mkdir(parents=True)
    notes = tmp_path / "notes.md"
    notes.write_text(NOTES_V1)
    review = make_review_docx(tmp_path / "review.docx")
    zone = zone_conf("kb", str(root), pipeline=PIPELINE, domain="birds")
    with open_dz(data_dir, database_url, [zone]) as dz:
        create_domain(dz.sm, "birds", description="drop-zone index test")
        notes_uri = dz.drop(notes, zone="kb").uri
        review_uri = dz.drop(review, zone="kb").uri
        first = dz.drain(track=False)
        assert first.count("done") == 2, [(o.state, o.error) for o in first.outcomes]

        stats = show_domain(dz.sm, "birds")
        assert (stats.documents, stats.pages) == (2, 3)
        by_source = chunks_by_source(dz)
        assert set(by_source) == {notes_uri, review_uri}
        assert {page for _, page, _ in by_source[notes_uri]} == {1}
        review_pages = {page: text for _, page, text in by_source[review_uri]}
        assert sorted(review_pages) == [1, 2]  # 1-based physical pages
        assert "western abutment" in review_pages[1] and "spillway gate" in review_pages[2]
        assert stats.chunks == sum(len(v) for v in by_source.values())
        ledger = {r["key"]: r for r in rows(dz)}
        notes_v1_id = ledger["notes.md"]["id"]
        assert by_source[notes_uri][0][0] == str(notes_v1_id)  # version = ledger id
        # the step's summary is recorded in the ledger (and in the report of `index` pipelines)
        assert "index" in json.dumps(ledger["notes.md"]["result"], default=str)

        # the same bytes again: a duplicate, not indexed again
        dz.drop(notes, zone="kb")
        again = dz.drain(track=False)
        assert [o.state for o in again.outcomes] == ["duplicate"]
        assert chunks_by_source(dz) == by_source
        assert show_domain(dz.sm, "birds").chunks == stats.chunks

        # changed bytes under the same name: a new version that replaces the old chunks
        notes.write_text(NOTES_V2)
        dz.drop(notes, zone="kb")
        changed = dz.drain(track=False)
        assert [o.state for o in changed.outcomes] == ["done"]
        ledger = rows(dz)
        v2 = ledger[-1]
        assert v2["key"] == "notes.md" and v2["replaces"] == notes_v1_id

        docs = [d for d in documents(dz) if d[0] == notes_uri]
        assert len(docs) == 1  # exactly one current version of the source
        _, version, content_hash, chunk_count, page_count = docs[0]
        assert (version, content_hash) == (str(v2["id"]), v2["sha256"])
        new_chunks = chunks_by_source(dz)[notes_uri]
        assert len(new_chunks) == chunk_count and page_count == 1
        assert {v for v, _, _ in new_chunks} == {str(v2["id"])}
        assert all("Zwischenahner" not in text for _, _, text in new_chunks)
        assert chunks_by_source(dz)[review_uri] == by_source[review_uri]  # untouched

        found = search(dz.sm, "birds", "cormorant roost quarry ponds", k=10)
        assert found.hits and "cormorant" in found.hits[0].text
        assert found.hits[0].source_uri == notes_uri and found.hits[0].page == 1
        old = search(dz.sm, "birds", "Zwischenahner lake fledglings ringed", k=10)
        assert all("Zwischenahner" not in h.text and "fledglings" not in h.text for h in old.hits)
        text_only = search(dz.sm, "birds", "Zwischenahner fledglings", k=10, mode="text")
        assert text_only.hits == []
    assert len(tree(root)["processed"]) == 4 and tree(root)["incoming"] == []


@pytest.mark.parametrize(
    ("case", "code", "says"),
    [
        ("missing_domain", "no_domain", "knowledge domain 'birds' does not exist"),
        ("no_text", "step_failed", "no text to index"),
    ],
)
def test_index_bad_input_fails_at_once_with_clear_error(
    case, code, says, data_dir, database_url, tmp_path
):
    """A missing domain or a document without text is bad input: failed/ on the first attempt."""
    root = tmp_path / "zone"
    (root / "incoming").mkdir(parents=True)
    zone = zone_conf("kb", str(root), pipeline=PIPELINE, domain="birds")
    with open_dz(data_dir, database_url, [zone]) as dz:
        if case == "no_text":
            create_domain(dz.sm, "birds")
            blank = tmp_path / "blank.docx"
            import docx

            docx.Document().save(str(blank))
            dz.drop(blank, zone="kb")
        else:
            (tmp_path / "a.md").write_text("# A\n\nSome text worth indexing.\n")
            dz.drop(tmp_path / "a.md", zone="kb")
        summary = dz.drain(track=False)
        (row,) = rows(dz)
    assert [o.state for o in summary.outcomes] == ["failed"]
    assert row["state"] == "failed" and row["attempts"] == 1 and row["location"] == "failed"
    sidecar = json.loads((root / (row["dest_key"] + ".error.json")).read_text())
    assert sidecar["error"] == code and says in sidecar["message"]
    assert sidecar["what_to_do"]
    assert (root / row["dest_key"]).exists()  # nothing lost: the file waits in failed/
