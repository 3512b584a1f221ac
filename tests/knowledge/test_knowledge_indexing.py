"""index_document: idempotent per content hash, atomic replacement, clear errors."""

from __future__ import annotations

import threading

import pytest

from tidyllm.errors import KnowledgeError
from tidyllm.extraction import Block, ExtractedDocument, Page
from tidyllm.knowledge import create_domain, index_document, search


def _doc(*texts: str) -> ExtractedDocument:
    return ExtractedDocument(
        mime="text/plain", pages=tuple(Page(i, t) for i, t in enumerate(texts, start=1))
    )


def _index(sm, document, content_hash: str, **kw):
    return index_document(
        sm,
        domain="d",
        document=document,
        source_uri="s3://bucket/reports/q1.pdf",
        version=content_hash,
        content_hash=content_hash,
        **kw,
    )


def _chunk_rows(sm):
    with sm.connection() as conn:
        return conn.execute(
            "SELECT c.id, c.page, c.start_char, c.end_char, c.text, d.version, d.indexed_at "
            "FROM chunks c JOIN documents d ON d.id = c.document_id ORDER BY c.id"
        ).fetchall()


def test_chunks_keep_page_and_offsets_and_metadata(sm) -> None:
    create_domain(sm, "d", chunk_size=40, overlap=5)
    pages = (
        "Capital planning\n\n" + "Banks project losses under stress scenarios. " * 12,
        "Model validation gives effective challenge to each model.",
    )
    document = ExtractedDocument(
        mime="application/pdf",
        pages=(
            Page(
                1,
                pages[0],
                (Block("heading", "Capital planning", 1), Block("paragraph", pages[0][18:])),
            ),
            Page(2, pages[1]),
        ),
        title="Q1 report",
    )
    result = _index(sm, document, "h1", metadata={"team": "risk"})
    assert result.status == "added" and result.pages == 2 and result.chunks > 2
    rows = _chunk_rows(sm)
    assert len(rows) == result.chunks
    for _, page, start, end, text, _, _ in rows:
        assert text == pages[page - 1][start:end]
    with sm.connection() as conn:
        title, meta, chunk_meta = conn.execute(
            "SELECT d.title, d.metadata, c.metadata FROM documents d JOIN chunks c "
            "ON c.document_id = d.id LIMIT 1"
        ).fetchone()
    assert title == "Q1 report" and meta == chunk_meta == {"team": "risk"}


def test_reindexing_unchanged_content_changes_nothing(sm) -> None:
    create_domain(sm, "d")
    first = _index(sm, _doc("Liquidity stress testing of the largest banks."), "same")
    before = _chunk_rows(sm)
    again = _index(sm, _doc("Liquidity stress testing of the largest banks."), "same")
    assert again.status == "unchanged" and again.document_id == first.document_id
    assert _chunk_rows(sm) == before  # same chunk ids, same indexed_at


def test_a_changed_document_replaces_its_chunks(sm) -> None:
    create_domain(sm, "d")
    _index(sm, _doc("Version one talks about liquidity."), "v1")
    replaced = _index(sm, _doc("Version two is about capital.", "And it has a page 2."), "v2")
    assert replaced.status == "replaced" and replaced.replaced_version == "v1"
    rows = _chunk_rows(sm)
    assert {r[5] for r in rows} == {"v2"}
    assert all("Version one" not in r[4] for r in rows)
    with sm.connection() as conn:
        assert conn.execute("SELECT count(*), max(chunk_count) FROM documents").fetchone() == (1, 2)


def test_concurrent_search_never_sees_both_versions_or_neither(sm) -> None:
    """Re-index A/B back and forth while another thread searches: each result is all A or all B."""
    create_domain(sm, "d", chunk_size=20, overlap=0)
    version_a = _doc(*[f"alpha capital buffer paragraph {i} of version A." for i in range(6)])
    version_b = _doc(*[f"beta capital buffer paragraph {i} of version B." for i in range(4)])
    _index(sm, version_a, "A")
    stop = threading.Event()
    seen: list[set[str]] = []
    errors: list[BaseException] = []

    def searcher() -> None:
        try:
            while not stop.is_set():
                hits = search(sm, "d", "capital buffer paragraph", k=20).hits
                seen.append(
                    {"A" if "version A" in h.text else "B" for h in hits} if hits else set()
                )
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    thread = threading.Thread(target=searcher)
    thread.start()
    try:
        for round_ in range(6):
            _index(sm, version_b if round_ % 2 == 0 else version_a, "B" if round_ % 2 == 0 else "A")
    finally:
        stop.set()
        thread.join()
    assert not errors
    assert len(seen) > 3
    assert all(s in ({"A"}, {"B"}) for s in seen), [s for s in seen if s not in ({"A"}, {"B"})]


def test_a_document_without_text_is_refused_and_the_old_version_kept(sm) -> None:
    create_domain(sm, "d")
    _index(sm, _doc("Old text about stress testing."), "old")
    with pytest.raises(KnowledgeError, match="no text to index"):
        _index(sm, _doc("", "   \n\t "), "empty")
    assert {r[5] for r in _chunk_rows(sm)} == {"old"}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"source_uri": ""}, "source_uri must not be empty"),
        ({"source_uri": "a\x00b"}, "NUL"),
        ({"source_uri": "x" * 5000}, "longer than"),
        ({"content_hash": 5}, "content_hash must be a string"),
        ({"metadata": {"k": 1}}, "must be a string"),
        ({"metadata": "k=v"}, "mapping"),
        ({"metadata": {f"k{i}": "v" for i in range(100)}}, "more than 64"),
        ({"document": "not a document"}, "ExtractedDocument"),
    ],
)
def test_hostile_arguments_get_clear_errors(sm, kwargs, message) -> None:
    create_domain(sm, "d")
    arguments = {
        "domain": "d",
        "document": _doc("Some text."),
        "source_uri": "mem://x",
        "version": "1",
        "content_hash": "h",
    } | kwargs
    with pytest.raises(KnowledgeError, match=message):
        index_document(sm, **arguments)
    with sm.connection() as conn:
        assert conn.execute("SELECT count(*) FROM documents").fetchone()[0] == 0


def test_nul_and_control_characters_in_text_are_stored_safely(sm) -> None:
    create_domain(sm, "d")
    result = _index(sm, _doc("Stress\x00test \u202eevil\u202c and emoji 🏦 text."), "n")
    assert result.chunks == 1
    (row,) = _chunk_rows(sm)
    assert "\x00" not in row[4] and "🏦" in row[4]
