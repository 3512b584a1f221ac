"""The implicit ``ingest-<domain>`` zone follows the object store.

With ``object_store.bucket`` set it is ``s3://<bucket>/<object_store.prefix>/ingest/<domain>/``
(moto here): uploads, ``tidyllm ingest`` copies, processed/ and failed/, the original's
download, re-index, retry and sync all go through that bucket and nothing is written under
DATA/ingest. Without a bucket it stays the local folder ``DATA/ingest/<domain>/``; a zone of
the same name in the settings file wins either way.
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest

from tidyllm.dropzones import UnifiedDropZones
from tidyllm.dropzones.api import implicit_zones, ingest_zone_settings
from tidyllm.knowledge import create_domain, show_domain
from tidyllm.knowledge.documents import (
    delete_document,
    list_documents,
    open_original,
    reindex_document,
)
from tidyllm.knowledge.ingest import ingest, sync_domain
from tidyllm.knowledge.uploads import upload_file

PREFIX = "tenant-a"  # object_store.prefix
NOTE = b"Model validation at the Federal Reserve ended in March 2015.\n"
BROKEN_PDF = b"%PDF-1.7\n\x00\x01 this is not really a pdf"


def _bucket_sm(data_dir: Path, database_url: str, bucket: str, url: str, **settings):
    from tidyllm.session import UnifiedSessionManager

    store = {"bucket": bucket, "prefix": PREFIX, "endpoint_url": url}
    return UnifiedSessionManager(
        data_dir=data_dir, database={"url": database_url}, object_store=store, **settings
    )


@pytest.fixture
def s3_sm(data_dir, database_url, moto_s3, s3_bucket):
    with _bucket_sm(data_dir, database_url, s3_bucket, moto_s3.url) as manager:
        yield manager


def _keys(sm, bucket: str, domain: str) -> list[str]:
    """Every key of the domain's implicit zone, relative to it (read with boto3 itself)."""
    prefix = f"{PREFIX}/ingest/{domain}/"
    pages = sm.s3_client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return sorted(o["Key"][len(prefix) :] for p in pages for o in p.get("Contents", []))


def _upload(sm, domain: str, name: str, data: bytes) -> int:
    return upload_file(sm, domain, io.BufferedReader(io.BytesIO(data)), name).id


def _drain(sm, domain: str):
    return UnifiedDropZones(sm).drain([f"ingest-{domain}"], track=False)


def _sha(chunks) -> str:
    digest = hashlib.sha256()
    for chunk in chunks:
        digest.update(chunk)
    return digest.hexdigest()


def test_without_a_bucket_the_zone_is_the_local_folder(sm) -> None:
    create_domain(sm, "docs")
    zone = ingest_zone_settings(sm, "docs")
    assert zone.source == str(Path(sm.settings.data_dir) / "ingest" / "docs")
    file_id = _upload(sm, "docs", "note.txt", NOTE)
    root = Path(sm.settings.data_dir, "ingest", "docs")
    assert (root / "incoming/upload/note.txt").read_bytes() == NOTE
    assert _drain(sm, "docs").count("done") == 1
    assert (root / f"processed/upload/note.{file_id}.txt").read_bytes() == NOTE
    assert [z.name for z in implicit_zones(sm)] == ["ingest-docs"]


def test_with_a_bucket_an_upload_lives_processes_and_downloads_from_the_bucket(
    s3_sm, s3_bucket
) -> None:
    sm = s3_sm
    create_domain(sm, "docs")
    create_domain(sm, "other")
    zone = ingest_zone_settings(sm, "docs")
    assert zone.source == f"s3://{s3_bucket}/{PREFIX}/ingest/docs/"
    # every domain's zone is known at once: the bucket is shared by all machines
    assert [(z.name, z.source) for z in implicit_zones(sm)] == [
        ("ingest-docs", f"s3://{s3_bucket}/{PREFIX}/ingest/docs/"),
        ("ingest-other", f"s3://{s3_bucket}/{PREFIX}/ingest/other/"),
    ]
    listed = {z.name: z.source for z in UnifiedDropZones(sm).list_zones()}
    assert listed["ingest-docs"] == zone.source

    file_id = _upload(sm, "docs", "note.txt", NOTE)
    assert _keys(sm, s3_bucket, "docs") == ["incoming/upload/note.txt"]
    assert _drain(sm, "docs").count("done") == 1
    processed = f"processed/upload/note.{file_id}.txt"
    reports = [processed + ".report.json", processed + ".report.md"]  # the report step's
    assert _keys(sm, s3_bucket, "docs") == [processed, *reports]
    body = sm.s3_client().get_object(Bucket=s3_bucket, Key=f"{PREFIX}/ingest/docs/{processed}")
    assert body["Body"].read() == NOTE

    (document,) = list_documents(sm, "docs").documents
    assert document.file_id == file_id
    assert document.source_uri == f"s3://{s3_bucket}/{PREFIX}/ingest/docs/incoming/upload/note.txt"
    original = open_original(sm, "docs", document.id)
    assert original.filename == "note.txt" and original.size == len(NOTE)
    assert _sha(original.chunks) == hashlib.sha256(NOTE).hexdigest()

    # re-index: copied from processed/ back to incoming/ in the bucket, indexed again
    queued = reindex_document(sm, "docs", document.id)
    assert queued.zone == "ingest-docs" and len(queued.file_ids) == 1
    assert "incoming/upload/note.txt" in _keys(sm, s3_bucket, "docs")
    assert _drain(sm, "docs").count("done") == 1
    assert not [k for k in _keys(sm, s3_bucket, "docs") if k.startswith("incoming/")]
    (again,) = list_documents(sm, "docs").documents
    assert again.id == document.id and again.file_id == queued.file_ids[0]
    assert _sha(open_original(sm, "docs", again.id).chunks) == hashlib.sha256(NOTE).hexdigest()

    # a file that fails lands in the bucket's failed/ with its sidecar, and can be retried
    broken = _upload(sm, "docs", "broken.pdf", BROKEN_PDF)
    assert _drain(sm, "docs").count("failed") == 1
    failed = f"failed/upload/broken.{broken}.pdf"
    assert {failed, failed + ".error.json"} <= set(_keys(sm, s3_bucket, "docs"))
    assert len(UnifiedDropZones(sm).retry([broken])) == 1
    keys = _keys(sm, s3_bucket, "docs")
    assert "incoming/upload/broken.pdf" in keys and failed not in keys
    assert _drain(sm, "docs").count("failed") == 1

    delete_document(sm, "docs", again.id)
    assert show_domain(sm, "docs").documents == 0
    assert not Path(sm.settings.data_dir, "ingest").exists()  # nothing went to the disk


def test_with_a_bucket_ingest_copies_into_the_bucket_and_sync_finds_the_originals(
    s3_sm, s3_bucket, tmp_path: Path
) -> None:
    sm = s3_sm
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.txt").write_text("Liquidity coverage ratios protect banks in a run.\n")
    (folder / "b.md").write_text("# Capital\n\nCapital buffers absorb losses in a recession.\n")
    create_domain(sm, "docs")
    report = ingest(sm, "docs", [str(folder)], track=False)
    assert report.zone == "ingest-docs" and report.counts() == {"done": 2}
    assert {i.source_uri for i in report.items} == {
        (folder / n).resolve().as_uri() for n in ("a.txt", "b.md")
    }
    a_id = next(i.file_id for i in report.items if i.source_uri.endswith("/a.txt"))
    copied = "file/" + (folder / "a").resolve().as_posix().lstrip("/")  # mirrors the source
    keys = _keys(sm, s3_bucket, "docs")
    assert f"processed/{copied}.{a_id}.txt" in keys, keys
    assert not [k for k in keys if k.startswith("incoming/")]
    uris = sorted(d.source_uri for d in list_documents(sm, "docs").documents)
    assert all(u.startswith(f"s3://{s3_bucket}/{PREFIX}/ingest/docs/incoming/file/") for u in uris)
    (document,) = [
        d for d in list_documents(sm, "docs").documents if d.source_uri.endswith("a.txt")
    ]
    a_bytes = (folder / "a.txt").read_bytes()
    assert (
        _sha(open_original(sm, "docs", document.id).chunks) == hashlib.sha256(a_bytes).hexdigest()
    )

    rerun = ingest(sm, "docs", [str(folder)], track=False)
    assert rerun.counts() == {"duplicate": 2}
    (folder / "a.txt").unlink()
    synced = sync_domain(sm, "docs")
    assert synced.removed == [(folder / "a.txt").resolve().as_uri()] and synced.kept == 1
    assert not Path(sm.settings.data_dir, "ingest").exists()


def test_documents_ingested_before_the_bucket_was_set_are_still_synced_by_their_original(
    sm, data_dir, database_url, moto_s3, s3_bucket, tmp_path: Path
) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.txt").write_text("Liquidity coverage ratios protect banks in a run.\n")
    (folder / "b.txt").write_text("Capital buffers absorb losses in a recession.\n")
    create_domain(sm, "docs")
    assert ingest(sm, "docs", [str(folder)], track=False).counts() == {"done": 2}
    (folder / "a.txt").unlink()
    with _bucket_sm(data_dir, database_url, s3_bucket, moto_s3.url) as later:
        assert ingest_zone_settings(later, "docs").source.startswith("s3://")
        synced = sync_domain(later, "docs")
    assert synced.removed == [(folder / "a.txt").resolve().as_uri()] and synced.kept == 1


def test_a_declared_zone_of_the_same_name_still_wins_over_the_bucket(
    data_dir, database_url, moto_s3, s3_bucket, tmp_path: Path
) -> None:
    declared = tmp_path / "declared"
    zones = [
        {"name": "ingest-docs", "source": str(declared), "pipeline": "index", "domain": "docs"}
    ]
    with _bucket_sm(data_dir, database_url, s3_bucket, moto_s3.url, zones=zones) as sm:
        create_domain(sm, "docs")
        assert [z.source for z in UnifiedDropZones(sm).declared() if z.name == "ingest-docs"] == [
            str(declared)
        ]
        file_id = _upload(sm, "docs", "note.txt", NOTE)
        assert (declared / "incoming/upload/note.txt").read_bytes() == NOTE
        assert _keys(sm, s3_bucket, "docs") == []
        folder = tmp_path / "src"
        folder.mkdir()
        (folder / "c.txt").write_text("Model risk management needs effective challenge.\n")
        report = ingest(sm, "docs", [str(folder)], track=False)
        assert report.counts() == {"done": 2}  # the waiting upload and the copy
        assert (declared / f"processed/upload/note.{file_id}.txt").read_bytes() == NOTE
        assert _keys(sm, s3_bucket, "docs") == []
        assert not Path(data_dir, "ingest").exists()
