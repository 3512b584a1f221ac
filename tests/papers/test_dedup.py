"""No duplicates (issue 13 item 5), on the real database: the same bytes under two names,
the same DOI, an arXiv v2 replacing v1 (atomically for a concurrent search), the merge
when an identifier becomes known after indexing, and names kept honest when bytes change."""

from __future__ import annotations

import threading
from pathlib import Path

from corpus_paths import FED_PDF
from tidyllm.extraction import ExtractedDocument, Page
from tidyllm.knowledge import create_domain, index_document, search
from tidyllm.knowledge.dedup import arxiv_key, document_names, merge_identified
from tidyllm.knowledge.ingest import ingest
from tidyllm.knowledge.metadata import read_metadata, write_layer
from tidyllm.knowledge.similar import similar_documents


def _doc(*texts: str) -> ExtractedDocument:
    return ExtractedDocument(
        mime="text/plain", pages=tuple(Page(i, t) for i, t in enumerate(texts, start=1))
    )


V1 = _doc(*[f"alpha attention routing paragraph {i} of version one." for i in range(5)])
V2 = _doc(*[f"beta attention routing paragraph {i} of version two." for i in range(4)])


def _index(sm, uri: str, document: ExtractedDocument, content_hash: str, **kw):
    return index_document(
        sm,
        domain="papers",
        document=document,
        source_uri=uri,
        version=content_hash,
        content_hash=content_hash,
        **kw,
    )


def _counts(sm) -> tuple[int, int, int]:
    with sm.connection() as conn:
        return conn.execute(
            "SELECT (SELECT count(*) FROM documents), (SELECT count(*) FROM chunks), "
            "(SELECT count(*) FROM document_vectors)"
        ).fetchone()


def _names(sm, document_id: int) -> list[tuple[str, str | None]]:
    with sm.connection() as conn:
        return [(n.source_uri, n.reason) for n in document_names(conn, document_id)]


def test_arxiv_keys() -> None:
    assert arxiv_key("2410.11842v2") == ("2410.11842", 2)
    assert arxiv_key("arXiv:2410.11842") == ("2410.11842", 0)
    assert arxiv_key("hep-th/9901001v3") == ("hep-th/9901001", 3)
    assert arxiv_key("not an id") is None and arxiv_key(None) is None


def test_the_same_bytes_under_another_name_are_one_document_with_both_names(sm) -> None:
    create_domain(sm, "papers")
    first = _index(sm, "mem://a/paper.pdf", V1, "h1")
    before = _counts(sm)
    second = _index(sm, "mem://b/paper-copy.pdf", V1, "h1")
    assert second.status == "duplicate" and second.document_id == first.document_id
    assert _counts(sm) == before  # nothing chunked, embedded or written but the name
    assert _names(sm, first.document_id) == [
        ("mem://a/paper.pdf", None),
        ("mem://b/paper-copy.pdf", "content"),
    ]
    # indexing the second name again is still that document, and idempotent
    again = _index(sm, "mem://b/paper-copy.pdf", V1, "h1")
    assert (again.status, again.document_id) == ("duplicate", first.document_id)
    hits = search(sm, "papers", "attention routing paragraph", k=20).hits
    assert {h.document_id for h in hits} == {first.document_id}
    assert {h.source_uri for h in hits} == {"mem://a/paper.pdf"}  # citations: the primary


def test_a_name_whose_bytes_change_becomes_its_own_document(sm) -> None:
    create_domain(sm, "papers")
    first = _index(sm, "mem://a.pdf", V1, "h1")
    _index(sm, "mem://b.pdf", V1, "h1")
    other = _index(sm, "mem://b.pdf", V2, "h2")  # b.pdf now holds other bytes
    assert other.status == "added" and other.document_id != first.document_id
    assert _names(sm, first.document_id) == [("mem://a.pdf", None)]
    # and when the primary's bytes change, the names that only shared the old bytes go
    _index(sm, "mem://c.pdf", V1, "h1")
    assert len(_names(sm, first.document_id)) == 2
    _index(sm, "mem://a.pdf", _doc("gamma text of a new edition."), "h3")
    assert _names(sm, first.document_id) == [("mem://a.pdf", None)]


def test_ingest_of_the_same_pdf_under_two_names_gives_one_document(sm, tmp_path: Path) -> None:
    create_domain(sm, "papers")
    folder = tmp_path / "drop"
    folder.mkdir()
    data = FED_PDF.read_bytes()
    (folder / "fed-report.pdf").write_bytes(data)
    (folder / "copy of fed-report.pdf").write_bytes(data)
    report = ingest(sm, "papers", [str(folder)], track=False)
    assert sorted(i.state for i in report.items) == ["done", "duplicate"]
    with sm.connection() as conn:
        ids = [r[0] for r in conn.execute("SELECT id FROM documents")]
    assert len(ids) == 1
    names = _names(sm, ids[0])
    assert len(names) == 2 and [r for _, r in names] == [None, "content"]
    assert {u.rsplit("/", 1)[-1].replace("%20", " ") for u, _ in names} == {
        "fed-report.pdf",
        "copy of fed-report.pdf",
    }


def test_the_same_doi_is_one_document_whose_content_is_kept(sm) -> None:
    create_domain(sm, "papers")
    first = _index(sm, "mem://x.pdf", V1, "h1")
    with sm.connection() as conn:
        write_layer(conn, first.document_id, "extracted", {"doi": "10.1000/XYZ"}, replace=True)
    before = _counts(sm)
    same = _index(sm, "mem://y.pdf", V2, "h2", identifiers={"doi": "https://doi.org/10.1000/xyz"})
    assert (same.status, same.document_id) == ("duplicate", first.document_id)
    assert _counts(sm) == before
    assert _names(sm, first.document_id)[1] == ("mem://y.pdf", "doi")


def _wait_for(seen: list, errors: list, count: int) -> None:
    while len(seen) < count and not errors:
        threading.Event().wait(0.01)


def test_arxiv_v2_replaces_v1_atomically_for_a_concurrent_search(sm) -> None:
    create_domain(sm, "papers", chunk_size=20, overlap=0)
    v1 = _index(sm, "mem://2410.11842v1.pdf", V1, "v1", identifiers={"arxiv_id": "2410.11842v1"})
    with sm.connection() as conn:
        write_layer(conn, v1.document_id, "extracted", {"arxiv_id": "2410.11842v1"}, replace=True)
        write_layer(conn, v1.document_id, "edited", {"tags": ["keep-me"]}, replace=True)
    stop = threading.Event()
    seen: list[set[str]] = []
    errors: list[BaseException] = []

    def searcher() -> None:
        try:
            while not stop.is_set():
                hits = search(sm, "papers", "attention routing paragraph", k=20).hits
                seen.append({"one" if "version one" in h.text else "two" for h in hits})
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    thread = threading.Thread(target=searcher)
    thread.start()
    try:
        _wait_for(seen, errors, 3)
        v2 = _index(
            sm, "mem://2410.11842v2.pdf", V2, "v2", identifiers={"arxiv_id": "2410.11842v2"}
        )
        _wait_for(seen, errors, len(seen) + 3)
    finally:
        stop.set()
        thread.join()
    assert not errors
    assert all(s in ({"one"}, {"two"}) for s in seen), [s for s in seen if len(s) != 1]
    assert seen[-1] == {"two"}
    assert (v2.status, v2.document_id, v2.replaced_version) == ("replaced", v1.document_id, "v1")
    assert _names(sm, v1.document_id) == [
        ("mem://2410.11842v2.pdf", None),
        ("mem://2410.11842v1.pdf", "arxiv"),
    ]
    with sm.connection() as conn:
        assert read_metadata(conn, v1.document_id).tags == ("keep-me",)  # the edit survives
    assert _counts(sm)[0] == 1
    # v1 dropped again later is a name of the paper, not a step back
    old = _index(
        sm, "mem://2410.11842v1-again.pdf", V1, "v1", identifiers={"arxiv_id": "2410.11842v1"}
    )
    assert (old.status, old.document_id) == ("duplicate", v1.document_id)
    hits = search(sm, "papers", "attention routing paragraph", k=20).hits
    assert hits and all("version two" in h.text for h in hits)


def test_an_identifier_known_after_indexing_merges_the_documents(sm) -> None:
    create_domain(sm, "papers")
    v1 = _index(sm, "mem://old.pdf", V1, "v1")
    v2 = _index(sm, "mem://new.pdf", V2, "v2")
    assert v1.document_id != v2.document_id
    with sm.connection() as conn:
        write_layer(conn, v1.document_id, "extracted", {"arxiv_id": "2410.11842v1"}, replace=True)
        write_layer(conn, v1.document_id, "edited", {"notes": "read this"}, replace=True)
        write_layer(conn, v2.document_id, "extracted", {"arxiv_id": "2410.11842v2"}, replace=True)
        conn.execute(
            "INSERT INTO collections (domain_id, name) SELECT domain_id, 'reading' "
            "FROM documents WHERE id = %s",
            (v2.document_id,),
        )
        conn.execute(
            "INSERT INTO collection_documents SELECT id, %s FROM collections",
            (v2.document_id,),
        )
    merged = merge_identified(sm, v2.document_id)
    assert merged is not None
    assert (merged.kept, merged.removed, merged.reason, merged.replaced_content) == (
        v1.document_id,
        v2.document_id,
        "arxiv",
        True,
    )
    assert _counts(sm)[0] == 1 and _counts(sm)[2] == 1
    hits = search(sm, "papers", "attention routing paragraph", k=20).hits
    assert hits and all("version two" in h.text and h.document_id == v1.document_id for h in hits)
    assert _names(sm, v1.document_id) == [("mem://new.pdf", None), ("mem://old.pdf", "arxiv")]
    with sm.connection() as conn:
        meta = read_metadata(conn, v1.document_id)
        member = conn.execute("SELECT document_id FROM collection_documents", ()).fetchall()
    assert (meta.arxiv_id, meta.notes) == ("2410.11842v2", "read this")
    assert member == [(v1.document_id,)]
    assert merge_identified(sm, v1.document_id) is None  # nothing left to merge


def test_a_doi_known_after_indexing_keeps_the_older_content(sm) -> None:
    create_domain(sm, "papers")
    first = _index(sm, "mem://first.pdf", V1, "h1")
    second = _index(sm, "mem://second.pdf", V2, "h2")
    with sm.connection() as conn:
        write_layer(conn, first.document_id, "fetched", {"doi": "10.1/ABC"}, replace=True)
        write_layer(conn, second.document_id, "extracted", {"doi": "10.1/abc"}, replace=True)
    merged = merge_identified(sm, second.document_id)
    assert merged is not None and not merged.replaced_content
    assert merged.kept == first.document_id
    hits = search(sm, "papers", "attention routing paragraph", k=20).hits
    assert hits and all("version one" in h.text for h in hits)
    assert _names(sm, first.document_id)[1] == ("mem://second.pdf", "doi")
    # the vector is the kept content's; the removed document's vector went with it
    assert similar_documents(sm, first.document_id, k=5).documents == []


def test_a_metadata_only_record_is_filled_by_the_paper_not_named(sm) -> None:
    create_domain(sm, "papers")
    with sm.connection() as conn:
        record = conn.execute(
            "INSERT INTO documents (domain_id, source_uri, version, content_hash, metadata) "
            "SELECT id, 'metadata-only://doi/10.1/abc', '1', 'none', '{\"kind\": \"x\"}' "
            "FROM domains RETURNING id"
        ).fetchone()[0]
        write_layer(conn, record, "fetched", {"doi": "10.1/abc", "title": "A Paper"}, replace=True)
    paper = _index(sm, "mem://paper.pdf", V1, "h1", identifiers={"doi": "10.1/ABC"})
    assert (paper.status, paper.document_id) == ("replaced", record)
    hits = search(sm, "papers", "attention routing paragraph", k=5).hits
    assert hits and {h.document_id for h in hits} == {record}
    assert _names(sm, record)[0] == ("mem://paper.pdf", None)


def test_sync_keeps_a_document_while_one_of_its_names_is_there(sm, tmp_path: Path) -> None:
    from tidyllm.knowledge.ingest import sync_domain

    create_domain(sm, "papers")
    folder = tmp_path / "drop"
    folder.mkdir()
    data = FED_PDF.read_bytes()
    for name in ("a.pdf", "b.pdf", "c.pdf"):
        (folder / name).write_bytes(data)
    ingest(sm, "papers", [str(folder)], track=False)
    with sm.connection() as conn:
        (document_id,) = conn.execute("SELECT id FROM documents").fetchone()
    primary = _names(sm, document_id)[0][0]
    first = folder / primary.rsplit("/", 1)[-1]
    first.unlink()  # the primary's file goes; two other names still hold the bytes
    others = sorted({"a.pdf", "b.pdf", "c.pdf"} - {first.name})
    (folder / others[1]).unlink()  # and one further name's file goes too
    report = sync_domain(sm, "papers")
    assert report.removed == [] and report.kept == 1
    assert [Path(u).name for u in report.names_removed] == [others[1]]
    names = _names(sm, document_id)
    assert len(names) == 1 and names[0][0].endswith(others[0]) and names[0][1] is None
    hits = search(sm, "papers", "model validation", k=3).hits
    assert hits and all(h.source_uri == names[0][0] for h in hits)
    (folder / others[0]).unlink()  # the last name's file goes: the document goes
    assert sync_domain(sm, "papers", yes=True).removed and _counts(sm) == (0, 0, 0)


def test_ingest_merges_files_that_print_the_same_arxiv_id(sm, tmp_path: Path) -> None:
    """Two different files of one paper (v1, then v2 printing its arXiv id on page 1): the
    ingest's extracted identifiers make them one document, holding v2's text."""
    from paper_builders import make_pdf

    create_domain(sm, "papers")
    body = "We study how attention routes tokens between the layers of a transformer model."
    for version, extra in (("v1", "An early draft."), ("v2", "The revised version.")):
        folder = tmp_path / version
        folder.mkdir()
        make_pdf(
            folder / f"routing-{version}.pdf",
            [
                (18, "Attention Routing"),
                (8, f"arXiv:2410.11842{version} [cs.CL]"),
                (10, body),
                (10, extra),
            ],
        )
        report = ingest(sm, "papers", [str(folder)], track=False)
        assert [i.state for i in report.items] == ["done"], report.items
    with sm.connection() as conn:
        rows = conn.execute("SELECT id, source_uri FROM documents").fetchall()
        assert len(rows) == 1, rows
        document_id, uri = rows[0]
        assert uri.endswith("routing-v2.pdf")
        assert read_metadata(conn, document_id).arxiv_id == "2410.11842v2"
        texts = " ".join(r[0] for r in conn.execute("SELECT text FROM chunks"))
    assert "revised" in texts and "early draft" not in texts
    assert [u.rsplit("/", 1)[-1] for u, _ in _names(sm, document_id)] == [
        "routing-v2.pdf",
        "routing-v1.pdf",
    ]


def test_a_file_absorbs_every_metadata_only_record_of_its_paper(sm) -> None:
    """Records (no text) of one paper, older than its file: the file's document survives
    (search hits already name it), takes their collections and values, free fields united,
    the file's own values on top; a record's URI (doi:..., arxiv:...) is not kept as a name."""
    from tidyllm.knowledge.papers import metadata_only_document

    create_domain(sm, "papers")
    with sm.connection() as conn, conn.transaction():
        from tidyllm.knowledge.domains import get_domain

        dom = get_domain(conn, "papers")
        by_doi, _ = metadata_only_document(conn, dom, "doi:10.1/abc", "doi")
        by_arxiv, _ = metadata_only_document(conn, dom, "arxiv:2410.11842", "arxiv")
        write_layer(
            conn,
            by_doi,
            "fetched",
            {"doi": "10.1/abc", "title": "Record", "fields": {"journal": "J", "pages": "1"}},
            replace=True,
        )
        write_layer(conn, by_arxiv, "fetched", {"arxiv_id": "2410.11842"}, replace=True)
        write_layer(conn, by_arxiv, "edited", {"notes": "from the record"}, replace=True)
        conn.execute("INSERT INTO collections (domain_id, name) VALUES (%s, 'reading')", (dom.id,))
        conn.execute("INSERT INTO collection_documents SELECT id, %s FROM collections", (by_arxiv,))
    paper = _index(sm, "mem://paper.pdf", V1, "h1")
    with sm.connection() as conn:
        write_layer(
            conn,
            paper.document_id,
            "fetched",
            {"doi": "10.1/ABC", "arxiv_id": "2410.11842v1", "fields": {"pages": "1--9"}},
            replace=True,
        )
    merged = merge_identified(sm, paper.document_id)
    assert merged is not None and merged.kept == paper.document_id
    assert {merged.removed, *merged.also_removed} == {by_doi, by_arxiv}
    assert _counts(sm)[0] == 1
    assert _names(sm, paper.document_id) == [("mem://paper.pdf", None)]
    with sm.connection() as conn:
        meta = read_metadata(conn, paper.document_id)
        member = conn.execute("SELECT document_id FROM collection_documents").fetchall()
    assert (meta.title, meta.notes, meta.arxiv_id) == ("Record", "from the record", "2410.11842v1")
    assert meta.fields == {"journal": "J", "pages": "1--9"}  # united, the file's on top
    assert member == [(paper.document_id,)]
