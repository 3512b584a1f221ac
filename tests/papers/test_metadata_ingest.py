"""Metadata filled at ingest, on a real database: the Federal Reserve report's title and
year without a sidecar, a sidecar over them, an edit kept across a re-ingest of a changed
file; hostile sidecars and manifests (a warning in the ledger, bounded values, the document
still indexed); sidecars in drop zones (local and S3) are read with their file, never
processed as documents."""

from __future__ import annotations

import io
import json
import os
import shutil
from pathlib import Path

import pytest

from corpus_paths import FED_PDF
from tidyllm.dropzones import UnifiedDropZones
from tidyllm.knowledge import create_domain
from tidyllm.knowledge.ingest import ingest
from tidyllm.knowledge.metadata import MAX_AUTHORS, MAX_TEXT, read_metadata, write_layer
from tidyllm.knowledge.sidecars import clear_cache

FED_TITLE = (
    "The Board Identified Areas of Improvement for Its Supervisory Stress Testing Model "
    "Validation Activities, and Opportunities Exist for Further Enhancement"
)


@pytest.fixture(autouse=True)
def _fresh_manifest_cache():
    clear_cache()
    yield
    clear_cache()


def _document(sm, name: str) -> int:
    with sm.connection() as conn:
        rows = conn.execute(
            "SELECT id FROM documents WHERE source_uri LIKE %s", (f"%/{name}",)
        ).fetchall()
    assert len(rows) == 1, rows
    return rows[0][0]


def _collections(sm, document_id: int) -> list[str]:
    with sm.connection() as conn:
        rows = conn.execute(
            "SELECT c.name FROM collections c JOIN collection_documents cd "
            "ON cd.collection_id = c.id WHERE cd.document_id = %s ORDER BY 1",
            (document_id,),
        ).fetchall()
    return [r[0] for r in rows]


def _index_result(sm, item) -> dict:
    row = UnifiedDropZones(sm).ledger.get(item.file_id)
    return row.result["steps"]["index"]["metadata"]


def test_fed_report_title_year_then_sidecar_then_edit_survives_a_changed_file(sm, tmp_path):
    create_domain(sm, "papers")
    folder = tmp_path / "fed"
    folder.mkdir()
    pdf = folder / "fed.pdf"
    shutil.copyfile(FED_PDF, pdf)

    report = ingest(sm, "papers", [str(folder)], track=False)
    assert report.counts() == {"done": 1}
    doc = _document(sm, "fed.pdf")
    with sm.connection() as conn:
        got = read_metadata(conn, doc)
    assert got.title == FED_TITLE  # the Info dictionary's, checked against the first page
    assert got.year == 2015 and got.date == "2015-10-29"  # printed on the cover (file: 2017)
    assert got.provenance["title"] == "extracted" and got.provenance["year"] == "extracted"
    assert _index_result(sm, report.items[0])["warnings"] == []

    # a sidecar overrides, and is read on a re-ingest of unchanged content (a duplicate)
    sidecar = {
        "title": "Fed OIG stress testing evaluation",
        "year": 2016,
        "tags": ["fed"],
        "collections": ["Regulators"],
        "report_number": "2015-SR-B-018",
    }
    (folder / "fed.pdf.meta.json").write_text(json.dumps(sidecar))
    report = ingest(sm, "papers", [str(folder)], track=False)
    assert report.counts() == {"duplicate": 1}  # the sidecar itself is not a document
    with sm.connection() as conn:
        got = read_metadata(conn, doc)
        title = conn.execute("SELECT title FROM documents WHERE id = %s", (doc,)).fetchone()[0]
    assert (got.title, got.year, got.tags) == (sidecar["title"], 2016, ("fed",))
    assert got.fields["report_number"] == "2015-SR-B-018"
    assert got.provenance["title"] == "sidecar" and got.provenance["year"] == "sidecar"
    assert got.date == "2015-10-29" and got.provenance["date"] == "extracted"
    assert title == sidecar["title"]  # lists and citations show the merged title
    assert _collections(sm, doc) == ["Regulators"]

    # an edit survives a re-ingest of a changed file (new bytes: re-extracted, re-indexed)
    with sm.connection() as conn:
        write_layer(
            conn, doc, "edited", {"title": "My title", "notes": "read p. 13"}, replace=False
        )
    with pdf.open("ab") as handle:
        handle.write(b"\n% a changed copy\n")
    report = ingest(sm, "papers", [str(folder)], track=False)
    assert report.counts() == {"done": 1}
    assert _document(sm, "fed.pdf") == doc
    with sm.connection() as conn:
        got = read_metadata(conn, doc)
        title = conn.execute("SELECT title FROM documents WHERE id = %s", (doc,)).fetchone()[0]
    assert (got.title, got.notes, got.year) == ("My title", "read p. 13", 2016)
    assert got.provenance["title"] == "edited" and got.provenance["year"] == "sidecar"
    assert title == "My title"
    assert _collections(sm, doc) == ["Regulators"]


NOTE = "Liquidity buffers protect banks during a run on deposits. " * 3


def test_hostile_sidecars_warn_bound_and_the_documents_still_ingest(sm, tmp_path):
    create_domain(sm, "papers")
    folder = tmp_path / "hostile"
    folder.mkdir()
    outside = tmp_path / "outside.json"
    outside.write_text(json.dumps({"title": "stolen"}))
    cases = {
        "notjson.txt": b"{ this is not json",
        "list.txt": b'["a", "b"]',
        "huge.txt": json.dumps({"abstract": "A" * 10_000_000}).encode(),
        "many.txt": json.dumps({"authors": [f"Author {i}" for i in range(10_000)]}).encode(),
        "control.txt": json.dumps(
            {
                "title": "Bell\x07 and\x00 NUL\u0085 title",
                "year": "20x4",
                "tags": ["ok"],
                "bad key!": "x",
                "collections": ["../escape", "Good One"],
            }
        ).encode(),
    }
    for name, data in cases.items():
        (folder / name).write_text(NOTE + name)
        (folder / f"{name}.meta.json").write_bytes(data)
    (folder / "linked.txt").write_text(NOTE + "linked")
    os.symlink(outside, folder / "linked.txt.meta.json")  # escapes the folder
    (folder / "listed.txt").write_text(NOTE + "listed")
    (folder / "metadata.jsonl").write_text(
        json.dumps({"file": "../outside.txt", "title": "escape"})
        + "\n"
        + json.dumps({"file": "/etc/passwd", "title": "escape"})
        + "\n"
        + "not json\n"
        + json.dumps({"file": "listed.txt", "title": "From the manifest"})
        + "\n"
    )

    report = ingest(sm, "papers", [str(folder)], track=False)
    assert report.counts() == {"done": 7}  # every document; no sidecar or manifest among them
    results = {Path(i.source_uri).name: _index_result(sm, i) for i in report.items}

    def meta(name):
        with sm.connection() as conn:
            return read_metadata(conn, _document(sm, name))

    assert any("not valid JSON" in w for w in results["notjson.txt"]["warnings"])
    assert any("JSON object is expected" in w for w in results["list.txt"]["warnings"])
    assert any("cut to" in w for w in results["huge.txt"]["warnings"])
    assert len(meta("huge.txt").abstract) == MAX_TEXT["abstract"]
    assert any("items" in w for w in results["many.txt"]["warnings"])
    assert len(meta("many.txt").authors) == MAX_AUTHORS
    control = meta("control.txt")
    assert control.title == "Bell and NUL title" and control.tags == ("ok",)
    assert control.year is None  # "20x4" is refused with a warning, the rest is kept
    assert any("year" in w for w in results["control.txt"]["warnings"])
    assert any("bad key!" in w for w in results["control.txt"]["warnings"])
    assert any("../escape" in w for w in results["control.txt"]["warnings"])
    assert _collections(sm, _document(sm, "control.txt")) == ["Good One"]
    assert any("symlink" in w for w in results["linked.txt"]["warnings"])
    assert meta("linked.txt").title != "stolen"
    listed = results["listed.txt"]["warnings"]
    assert sum("not a file of this folder" in w for w in listed) == 2
    assert meta("listed.txt").title == "From the manifest"
    assert meta("listed.txt").provenance["title"] == "sidecar"


def test_csv_manifest_sets_lists_and_free_fields(sm, tmp_path):
    create_domain(sm, "papers")
    folder = tmp_path / "csv"
    folder.mkdir()
    (folder / "a.txt").write_text(NOTE + "a")
    (folder / "metadata.csv").write_text(
        "file,title,authors,year,tags,collections,desk\n"
        "a.txt,Run Risk,Ada One; Bo Two,2020,liquidity;banks,Core,treasury\n"
    )
    report = ingest(sm, "papers", [str(folder)], track=False)
    assert report.counts() == {"done": 1}
    doc = _document(sm, "a.txt")
    with sm.connection() as conn:
        got = read_metadata(conn, doc)
    assert (got.title, got.authors, got.year) == ("Run Risk", ("Ada One", "Bo Two"), 2020)
    assert got.tags == ("liquidity", "banks") and got.fields == {"desk": "treasury"}
    assert _collections(sm, doc) == ["Core"]


def test_local_drop_zone_reads_the_sidecar_in_incoming_and_never_processes_it(sm):
    create_domain(sm, "papers")
    dz = UnifiedDropZones(sm)
    sidecar = json.dumps({"title": "Dropped with a sidecar"}).encode()
    dz.drop_data(io.BytesIO(sidecar), zone="ingest-papers", name="q1/note.txt.meta.json")
    dz.drop_data(io.BytesIO(NOTE.encode()), zone="ingest-papers", name="q1/note.txt")
    dz.run_worker(["ingest-papers"], once=True, track=False, watch=False)
    rows = dz.ledger.by_key("q1/note.txt.meta.json", "ingest-papers")
    assert rows == []  # never a ledger row: it describes a file, it is not one
    with sm.connection() as conn:
        got = read_metadata(conn, _document(sm, "note.txt"))
    assert got.title == "Dropped with a sidecar" and got.provenance["title"] == "sidecar"


def test_s3_sources_and_s3_zones_read_sidecars_beside_the_file(
    data_dir, database_url, moto_s3, s3_bucket
):
    from tidyllm.session import UnifiedSessionManager

    store = {"bucket": s3_bucket, "prefix": "tenant", "endpoint_url": moto_s3.url}
    with UnifiedSessionManager(
        data_dir=data_dir, database={"url": database_url}, object_store=store
    ) as sm:
        create_domain(sm, "papers")
        client = sm.s3_client()
        client.put_object(Bucket=s3_bucket, Key="src/a.txt", Body=(NOTE + "a").encode())
        client.put_object(
            Bucket=s3_bucket, Key="src/a.txt.meta.json", Body=b'{"title": "From S3 source"}'
        )
        client.put_object(Bucket=s3_bucket, Key="src/metadata.jsonl", Body=b"not json\n")
        report = ingest(sm, "papers", [f"s3://{s3_bucket}/src/"], track=False)
        assert report.counts() == {"done": 1}  # neither the sidecar nor the manifest
        with sm.connection() as conn:
            assert read_metadata(conn, _document(sm, "a.txt")).title == "From S3 source"

        dz = UnifiedDropZones(sm)
        sidecar = b'{"title": "From the S3 zone", "collections": ["S3 drops"]}'
        dz.drop_data(io.BytesIO(sidecar), zone="ingest-papers", name="up/b.txt.meta.json")
        dz.drop_data(io.BytesIO((NOTE + "b").encode()), zone="ingest-papers", name="up/b.txt")
        dz.run_worker(["ingest-papers"], once=True, track=False, watch=False)  # scans too
        assert dz.ledger.by_key("up/b.txt.meta.json", "ingest-papers") == []
        doc = _document(sm, "b.txt")
        with sm.connection() as conn:
            assert read_metadata(conn, doc).title == "From the S3 zone"
        assert _collections(sm, doc) == ["S3 drops"]


def test_an_upload_named_like_a_sidecar_is_refused_with_a_clear_message(sm):
    from tidyllm.knowledge.uploads import UploadRefused, upload_file

    create_domain(sm, "papers")
    data = io.BufferedReader(io.BytesIO(b'{"title": "x"}'))
    with pytest.raises(UploadRefused, match="sidecar or manifest"):
        upload_file(sm, "papers", data, "report.pdf.meta.json")
    assert UnifiedDropZones(sm).ledger.by_key("upload/report.pdf.meta.json", "ingest-papers") == []


def test_a_junk_info_title_is_not_embedded_with_the_chunks(sm, tmp_path):
    from test_metadata_ingest_extraction import make_pdf

    create_domain(sm, "papers")
    folder = tmp_path / "junk"
    folder.mkdir()
    lines = [(22, "Liquidity Stress Review"), (10, "Banks hold liquid assets for outflows. " * 3)]
    make_pdf(folder / "memo.pdf", lines, info={"Title": "Microsoft Word - memo_v2.docx"})
    assert ingest(sm, "papers", [str(folder)], track=False).counts() == {"done": 1}
    with sm.connection() as conn:
        title, contexts = conn.execute(
            "SELECT d.title, array_agg(c.context) FROM documents d JOIN chunks c "
            "ON c.document_id = d.id GROUP BY d.title"
        ).fetchone()
    assert title == "Liquidity Stress Review"
    assert all("Liquidity Stress Review" in c and "Microsoft" not in c for c in contexts)


def test_a_sidecar_named_as_the_source_is_refused_not_silently_skipped(sm, tmp_path):
    from tidyllm.errors import KnowledgeError

    create_domain(sm, "papers")
    sidecar = tmp_path / "a.txt.meta.json"
    sidecar.write_text("{}")
    with pytest.raises(KnowledgeError, match="read with the files it describes"):
        ingest(sm, "papers", [str(sidecar)], track=False)
