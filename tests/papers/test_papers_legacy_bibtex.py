"""import-legacy on a small legacy whitepapers folder made here (generated PDFs, metadata
JSON with Windows paths and multi-line titles, one paper whose PDF is missing), and BibTeX:
export -> import keeps every field; hostile .bib files give clear errors or bounded values."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import bibtexparser
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "extraction"))
from extraction_builders import text_pdf

from tidyllm.knowledge import create_domain
from tidyllm.knowledge.bibtex import BibtexError, export_collection, import_bibtex
from tidyllm.knowledge.metadata import MAX_AUTHORS, MAX_TEXT, read_metadata, write_layer
from tidyllm.knowledge.papers import import_legacy

LEGACY = {
    "2301.00001": {
        "title": "Heat Engines\n   and Their Limits",
        "authors": ["A. Carnot", "B. Kelvin"],
        "y_score": 0.82,
        "collections": ["Thermo", "AI/ML"],
        "file_path": "C:\\Users\\rudy\\whitepapers\\papers\\2301.00001.pdf",
    },
    "2302.00002": {
        "title": "Noise\nSeparation with Wavelets",
        "authors": ["C. Fourier"],
        "y_score": 0.4,
        "collections": ["Signals"],
        "file_path": "C:\\Users\\rudy\\whitepapers\\papers\\noise.pdf",
    },
    "2303.00003": {
        "title": "Art,\r\nCreativity and Diffusion",
        "authors": ["D. Vinci"],
        "y_score": 0.65,
        "collections": ["AI/ML"],
        "file_path": "D:\\old\\papers\\2303.00003.pdf",  # not in papers/: missing
    },
}


def make_legacy(root: Path) -> Path:
    (root / "metadata").mkdir(parents=True)
    (root / "papers").mkdir()
    (root / "repository_index.json").write_text(json.dumps({"papers": LEGACY}))
    for pid, entry in LEGACY.items():
        meta = {
            "id": pid,
            "title": entry["title"],
            "authors": entry["authors"],
            "source": "arxiv",
            "published": f"20{pid[:2]}-0{pid[3]}-15",
            "scores": {"y_score": entry["y_score"], "novelty": 3},
            "tags": ["legacy", pid[:4]],
            "notes": f"read in 2023;\nnote on {pid}",
            "abstract": f"Abstract of {pid}.",
        }
        (root / "metadata" / f"{pid}.json").write_text(json.dumps(meta, indent=2))
    (root / "papers" / "2301.00001.pdf").write_bytes(text_pdf(b"Carnot efficiency bounds heat."))
    (root / "papers" / "noise.pdf").write_bytes(text_pdf(b"Wavelets separate noise from signal."))
    return root


def snapshot(sm) -> list[tuple]:
    with sm.connection() as conn:
        docs = conn.execute(
            "SELECT id, source_uri, version, content_hash, title, chunk_count FROM documents "
            "ORDER BY id"
        ).fetchall()
        # the fetched layer is the import's: not even rewritten. (The file's own layers are
        # the ingest's to refresh; a duplicate ingest may touch their updated_at.)
        layers = conn.execute(
            "SELECT document_id, layer, fields, CASE WHEN layer = 'fetched' THEN updated_at END "
            "FROM document_metadata_layers ORDER BY 1, 2"
        ).fetchall()
        members = conn.execute(
            "SELECT c.name, d.document_id FROM collections c JOIN collection_documents d "
            "ON d.collection_id = c.id ORDER BY 1, 2"
        ).fetchall()
    return [docs, layers, members]


def test_import_legacy_keeps_every_paper_and_reports_the_missing_one(sm, tmp_path):
    create_domain(sm, "papers")
    root = make_legacy(tmp_path / "whitepapers")
    report = import_legacy(sm, "papers", root)
    assert report.problems == []
    by_id = {p.paper_id: p for p in report.papers}
    assert set(by_id) == set(LEGACY)
    assert [p.paper_id for p in report.missing] == ["2303.00003"]
    assert "2303.00003.pdf" in report.missing[0].missing
    assert by_id["2302.00002"].pdf.endswith("noise.pdf")  # found by the Windows path's base name
    assert sorted(report.collections_created) == ["AI-ML", "Signals", "Thermo"]
    with sm.connection() as conn:
        heat = read_metadata(conn, by_id["2301.00001"].document_id)
        art = read_metadata(conn, by_id["2303.00003"].document_id)
        kinds = dict(conn.execute("SELECT source_uri, chunk_count FROM documents").fetchall())
        ai = conn.execute(
            "SELECT count(*) FROM collection_documents d JOIN collections c "
            "ON c.id = d.collection_id WHERE c.name = 'AI-ML'"
        ).fetchone()[0]
    assert heat.title == "Heat Engines and Their Limits"
    assert art.title == "Art, Creativity and Diffusion"
    assert heat.fields["y_score"] == "0.82" and heat.fields["novelty"] == "3"
    assert heat.fields["source"] == "arxiv" and heat.fields["legacy_id"] == "2301.00001"
    assert (heat.year, heat.arxiv_id, heat.tags) == (2023, "2301.00001", ("legacy", "2301"))
    assert heat.notes == "read in 2023; note on 2301.00001"
    assert kinds["legacy:2303.00003"] == 0 and ai == 2
    assert sum(1 for uri, n in kinds.items() if n > 0) == 2

    before = snapshot(sm)
    again = import_legacy(sm, "papers", root)
    assert {p.status for p in again.papers} == {"unchanged"}
    after = snapshot(sm)
    for part, (old, new) in enumerate(zip(before, after, strict=True)):
        assert new == old, (part, [(o, n) for o, n in zip(old, new, strict=False) if o != n])
    assert again.collections_created == []


def test_bibtex_round_trip_keeps_every_field(sm, tmp_path):
    create_domain(sm, "papers")
    root = make_legacy(tmp_path / "whitepapers")
    import_legacy(sm, "papers", root)
    with sm.connection() as conn:
        doc = conn.execute("SELECT id FROM documents WHERE title LIKE 'Heat%'").fetchone()[0]
        write_layer(
            conn,
            doc,
            "edited",
            {
                "doi": "10.1000/heat_1",
                "isbn": "978-3-16-148410-0",
                "url": "https://example.org/heat?x=1&y=2",
                "title": "Heat {Engines}: 50% & $5 ~ ^ \\ Ünïcode }",
                "authors": ["Sadi Carnot", "Kelvin, Lord", "Acme and Sons", "Jürgen Ö"],
                "fields": {"journal": "Annals of Heat", "pages": "1--10"},
            },
            replace=False,
        )
        docs = [r[0] for r in conn.execute("SELECT id FROM documents ORDER BY id")]
        before = {d: read_metadata(conn, d) for d in docs}
    text = export_collection(sm, "AI-ML", "bibtex", domain="papers") + export_collection(
        sm, "Signals", "bibtex", domain="papers"
    )
    csl = json.loads(export_collection(sm, "Thermo", "csl-json", domain="papers"))
    assert csl[0]["title"].startswith("Heat {Engines}") and csl[0]["DOI"] == "10.1000/heat_1"
    assert csl[0]["author"][1] == {"family": "Kelvin", "given": "Lord"}
    bib = tmp_path / "out" / "export.bib"
    bib.parent.mkdir()
    bib.write_text(text, encoding="utf-8")

    create_domain(sm, "copy")
    report = import_bibtex(sm, "copy", bib)
    assert report.problems == [] and report.count("added") == 3
    fields = ("title", "authors", "year", "date", "doi", "arxiv_id", "isbn", "url", "abstract")
    fields += ("tags", "notes")
    with sm.connection() as conn:
        after = [read_metadata(conn, e.document_id) for e in report.entries]
    originals = {m.title: m for m in before.values()}
    for got in after:
        want = originals[got.title]
        assert {f: getattr(got, f) for f in fields} == {f: getattr(want, f) for f in fields}
        extra = {k: v for k, v in got.fields.items() if not k.startswith("bibtex_")}
        assert extra == dict(want.fields)
    again = import_bibtex(sm, "copy", bib)
    assert {e.status for e in again.entries} == {"unchanged"}


def test_bibtex_files_inside_the_folder_are_ingested_and_escapes_refused(sm, tmp_path):
    create_domain(sm, "papers")
    folder = tmp_path / "lib"
    (folder / "pdfs").mkdir(parents=True)
    (folder / "pdfs" / "a.pdf").write_bytes(text_pdf(b"Attached paper about liquidity."))
    (tmp_path / "secret.pdf").write_bytes(text_pdf(b"Outside the folder."))
    bib = folder / "lib.bib"
    bib.write_text(
        "@article{inside, title={Liquidity}, author={Ann Bee}, year={2020},\n"
        "  file={Full Text:pdfs/a.pdf:application/pdf}}\n"
        "@article{escape, title={Escaping}, author={Eve}, file={../secret.pdf}}\n",
        encoding="utf-8",
    )
    report = import_bibtex(sm, "papers", bib, collection="Library")
    entries = {e.key: e for e in report.entries}
    assert entries["inside"].files and entries["inside"].files[0].endswith("a.pdf")
    assert entries["escape"].files == () and entries["escape"].status == "added"
    assert any("outside the .bib file's folder" in p for p in report.problems)
    with sm.connection() as conn:
        uris = [r[0] for r in conn.execute("SELECT source_uri FROM documents ORDER BY id")]
    assert not any("secret" in u for u in uris) and "bibtex:escape" in uris


def test_hostile_bibtex_gives_clear_errors_or_bounded_values(sm, tmp_path):
    create_domain(sm, "papers")
    authors = " and ".join(f"Author{i} Person" for i in range(10_000))
    bib = tmp_path / "hostile.bib"
    bib.write_text(
        "@article{huge, title={Big\x01\x02 one\x00}, author={" + authors + "},\n"
        "  abstract={" + "word " * 2_100_000 + "}}\n"
        "@article{broken, title={unbalanced {braces}\n"
        "@misc{fine, title={Still imported}}\n",
        encoding="utf-8",
    )
    report = import_bibtex(sm, "papers", bib)
    assert sorted(e.key for e in report.entries) == ["fine", "huge"]
    assert any("line 3" in p and "braces" in p for p in report.problems), report.problems
    with sm.connection() as conn:
        huge = read_metadata(conn, next(e for e in report.entries if e.key == "huge").document_id)
    assert huge.title == "Big one" and len(huge.authors) == MAX_AUTHORS
    assert len(huge.abstract) <= MAX_TEXT["abstract"]

    nothing = tmp_path / "nothing.bib"
    nothing.write_text("@article{x, title={never closed\n", encoding="utf-8")
    with pytest.raises(BibtexError, match="no entry could be parsed"):
        import_bibtex(sm, "papers", nothing)
    latin = tmp_path / "latin1.bib"
    latin.write_bytes("@misc{x, title={Caf\xe9}}".encode("latin-1"))
    with pytest.raises(BibtexError, match="not UTF-8"):
        import_bibtex(sm, "papers", latin)


def test_bibtex_decoding_of_other_tools_output(sm, tmp_path):
    create_domain(sm, "papers")
    bib = tmp_path / "zotero.bib"
    bib.write_text(
        "@inproceedings{k, title = {{GPU} Kernels for {\\\"o}ber Fast {\\'e}t\\'e},\n"
        '  author = {M{\\"u}ller, Hans and {World Health Organization}},\n'
        "  keywords = {gpu; kernels}, year = 2019, booktitle = {Proc. \\& Co}}\n",
        encoding="utf-8",
    )
    report = import_bibtex(sm, "papers", bib)
    with sm.connection() as conn:
        meta = read_metadata(conn, report.entries[0].document_id)
    assert meta.title == "GPU Kernels for öber Fast été"
    assert meta.authors == ("Hans Müller", "World Health Organization")
    assert (meta.year, meta.tags, meta.fields["booktitle"]) == (
        2019,
        ("gpu", "kernels"),
        "Proc. & Co",
    )
    with sm.connection() as conn:
        conn.execute("INSERT INTO collections (domain_id, name) SELECT id, 'All' FROM domains")
        conn.execute(
            "INSERT INTO collection_documents (collection_id, document_id) "
            "SELECT c.id, d.id FROM collections c, documents d"
        )
    exported = bibtexparser.parse_string(export_collection(sm, "All", "bibtex", domain="papers"))
    assert exported.failed_blocks == [] and exported.entries[0].key == "k"
    assert exported.entries[0].entry_type == "inproceedings"
