"""The metadata layers on a real database: precedence, provenance, edits kept when the
file's own layers are rewritten, clearing by None, hostile values bounded."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "server"))
from server_helpers import index_pages

from tidyllm.knowledge.metadata import (
    MAX_AUTHORS,
    MAX_TEXT,
    MetadataError,
    read_metadata,
    write_layer,
)


@pytest.fixture
def document_id(sm) -> int:
    index_pages(sm, "papers", ["A page about model risk.", "Another page."])
    with sm.connection() as conn:
        return conn.execute("SELECT id FROM documents").fetchone()[0]


def test_layers_merge_by_precedence_and_say_where_from(sm, document_id):
    with sm.connection() as conn:
        write_layer(
            conn,
            document_id,
            "extracted",
            {"title": "Untitled-1", "year": 2015, "authors": ["A. One"], "fields": {"pages": 2}},
            replace=True,
        )
        write_layer(conn, document_id, "sidecar", {"title": "Model\nRisk  Review"}, replace=True)
        tags = {"tags": ["risk", "risk", "fed"]}
        got = write_layer(conn, document_id, "edited", tags, replace=False)
    assert got.title == "Model Risk Review"  # the sidecar's, line breaks gone
    assert (got.year, got.authors, got.tags) == (2015, ("A. One",), ("risk", "fed"))
    assert got.fields == {"pages": "2"}
    assert got.provenance == {
        "title": "sidecar",
        "year": "extracted",
        "authors": "extracted",
        "fields.pages": "extracted",
        "tags": "edited",
    }
    with sm.connection() as conn:
        title = conn.execute("SELECT title FROM documents WHERE id = %s", (document_id,))
        assert title.fetchone()[0] == "Model Risk Review"
        row = conn.execute(
            "SELECT year, tags, authors_text FROM document_metadata WHERE document_id = %s",
            (document_id,),
        ).fetchone()
    assert row == (2015, ["risk", "fed"], "a. one")


def test_an_edit_survives_a_rewrite_of_the_file_layers(sm, document_id):
    with sm.connection() as conn:
        write_layer(conn, document_id, "extracted", {"title": "Old", "year": 2014}, replace=True)
        write_layer(conn, document_id, "edited", {"year": 2016}, replace=False)
        # a re-ingest of a changed file rewrites its own layers only
        again = write_layer(conn, document_id, "extracted", {"title": "New"}, replace=True)
        assert (again.title, again.year) == ("New", 2016)
        assert again.provenance["year"] == "edited"
        # None in a higher layer clears a wrong lower value
        cleared = write_layer(conn, document_id, "edited", {"title": None}, replace=False)
        assert cleared.title is None and "title" not in cleared.provenance
        shown = conn.execute("SELECT title FROM documents WHERE id = %s", (document_id,))
        assert shown.fetchone()[0] is None  # lists show the file's name, not "New"
        assert read_metadata(conn, document_id) == cleared


def test_hostile_values_are_bounded_or_refused(sm, document_id):
    with sm.connection() as conn:
        got = write_layer(
            conn,
            document_id,
            "sidecar",
            {
                "abstract": "x" * 10_000_000,
                "authors": [f"Author {i}" for i in range(10_000)],
                "title": "Bell\x07 and\x00 nul\u202e",
            },
            replace=True,
        )
        assert len(got.abstract) == MAX_TEXT["abstract"]
        assert len(got.authors) == MAX_AUTHORS
        assert got.title == "Bell and nul\u202e"
        for bad, words in [
            ({"year": "MMXV"}, "four-digit"),
            ({"authors": [1, 2]}, "must be text"),
            ({"colour": "red"}, "unknown metadata field"),
            ({"fields": {"bad key!": "x"}}, "not accepted"),
            ({"title": ["a"]}, "must be text"),
        ]:
            with pytest.raises(MetadataError, match=words):
                write_layer(conn, document_id, "edited", bad, replace=False)
        with pytest.raises(MetadataError, match="no document"):
            write_layer(conn, 999_999, "edited", {"title": "x"}, replace=False)
        assert read_metadata(conn, document_id).title == "Bell and nul\u202e"  # nothing lost
