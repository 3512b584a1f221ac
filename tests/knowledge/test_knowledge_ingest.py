"""Bulk ingest through the drop-zone ledger: resumable, never indexing twice; sync drops the gone.

Every test drains with ``track=False`` (no MLflow batch runs) except where tracking is the
point; the engine's MLflow behaviour is tested in tests/dropzones.
"""

from __future__ import annotations

import io
import os
import shutil
from pathlib import Path

import pytest

from corpus_paths import PATENT_PDF
from tidyllm.dropzones import UnifiedDropZones
from tidyllm.dropzones.api import ingest_zone_settings
from tidyllm.errors import DomainNotFound, DropZoneError, KnowledgeError
from tidyllm.knowledge import create_domain, search, show_domain
from tidyllm.knowledge.ingest import ingest, sync_domain

BROKEN_PDF = b"%PDF-1.7\n\x00\x01 this is not really a pdf"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "docs"
    (root / "sub").mkdir(parents=True)
    (root / ".hidden").mkdir()
    (root / "a.txt").write_text("Liquidity coverage ratios protect banks in a run.\n")
    (root / "b.md").write_text("# Capital\n\nCapital buffers absorb losses in a recession.\n")
    (root / "sub" / "c.html").write_text(
        "<html><body><p>Model validation needs challenge.</p></body></html>"
    )
    (root / ".hidden" / "secret.txt").write_text("never ingested")
    (root / "broken.pdf").write_bytes(BROKEN_PDF)
    return root


def _snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def _states(report) -> dict[str, str]:
    return {item.source_uri.rsplit("/", 1)[-1]: item.state for item in report.items}


def _chunks(sm) -> list[tuple]:
    with sm.connection() as conn:
        return conn.execute(
            "SELECT chunks.id, d.source_uri, d.indexed_at FROM chunks JOIN documents d "
            "ON d.id = chunks.document_id ORDER BY 1"
        ).fetchall()


def _zone_root(sm, domain: str) -> Path:
    return Path(ingest_zone_settings(sm, domain).source)


def test_a_folder_goes_through_the_ledger_and_a_rerun_is_all_duplicates(sm, folder) -> None:
    before_sources = _snapshot(folder)
    create_domain(sm, "docs")
    first = ingest(sm, "docs", [str(folder)], track=False)
    assert first.zone == "ingest-docs"
    assert _states(first) == {
        "a.txt": "done",
        "b.md": "done",
        "c.html": "done",
        "broken.pdf": "failed",
    }
    assert {i.source_uri for i in first.items} == {
        (folder / n).resolve().as_uri() for n in ("a.txt", "b.md", "sub/c.html", "broken.pdf")
    }
    (broken,) = first.failures
    assert broken.code == "corrupt" and broken.error and broken.file_id is not None
    assert first.chunks >= 3 and all(i.chunks >= 1 for i in first.items if i.state == "done")
    assert show_domain(sm, "docs").documents == 3
    assert _snapshot(folder) == before_sources  # sources read, never moved or deleted

    # The copies flowed through the zone: incoming/ is empty, failed/ says why.
    root = _zone_root(sm, "docs")
    assert not [p for p in (root / "incoming").rglob("*") if p.is_file()]
    errors = list((root / "failed").rglob("*.error.json"))
    assert len(errors) == 1 and "broken" in errors[0].name

    chunks = _chunks(sm)
    again = ingest(sm, "docs", [str(folder)], track=False)
    assert _states(again) == {
        "a.txt": "duplicate",
        "b.md": "duplicate",
        "c.html": "duplicate",
        "broken.pdf": "failed",  # bad input fails again (and says why again)
    }
    assert again.chunks == 0
    assert _chunks(sm) == chunks  # nothing re-indexed
    assert _snapshot(folder) == before_sources

    (folder / "a.txt").write_text("Liquidity rules changed: banks now report daily.\n")
    changed = ingest(sm, "docs", [str(folder / "a.txt")], track=False)
    (item,) = changed.items
    assert item.state == "done"
    row = UnifiedDropZones(sm).get(item.file_id)
    assert row.replaces is not None  # a new version of the same key
    hits = search(sm, "docs", "liquidity reporting", k=5).hits
    assert any("report daily" in h.text for h in hits)
    assert not any("in a run." in h.text for h in hits)
    assert show_domain(sm, "docs").documents == 3


def test_two_folders_with_the_same_file_names_do_not_collide(sm, tmp_path) -> None:
    for name, text in (("one", "Operational risk losses."), ("two", "Market risk limits.")):
        (tmp_path / name).mkdir()
        (tmp_path / name / "README.md").write_text(text)
    create_domain(sm, "docs")
    report = ingest(sm, "docs", [str(tmp_path / "one"), str(tmp_path / "two")], track=False)
    assert [i.state for i in report.items] == ["done", "done"]
    assert show_domain(sm, "docs").documents == 2


def test_an_interrupted_load_is_finished_by_any_worker(sm, folder) -> None:
    """Copied into incoming/ but never processed (as a killed ingest leaves it)."""
    create_domain(sm, "docs")
    zone = ingest_zone_settings(sm, "docs")
    Path(zone.source, "incoming").mkdir(parents=True)
    dz = UnifiedDropZones(sm)
    assert zone.name in [z.name for z in dz.list_zones()]  # the implicit zone is declared
    for name in ("a.txt", "b.md"):
        path = (folder / name).resolve()
        with path.open("rb") as data:
            dz.drop_data(data, zone=zone.name, name="file" + path.as_posix())
    summary = UnifiedDropZones(sm).run_worker(once=True, track=False)  # `tidyllm worker --once`
    assert summary.count("done") == 2
    assert show_domain(sm, "docs").documents == 2

    report = ingest(sm, "docs", [str(folder / "a.txt"), str(folder / "b.md")], track=False)
    assert _states(report) == {"a.txt": "duplicate", "b.md": "duplicate"}


def test_a_copied_but_unprocessed_file_is_indexed_once_by_the_next_ingest(sm, folder) -> None:
    create_domain(sm, "docs")
    zone = ingest_zone_settings(sm, "docs")
    Path(zone.source, "incoming").mkdir(parents=True)
    path = (folder / "b.md").resolve()
    with path.open("rb") as data:
        UnifiedDropZones(sm).drop_data(data, zone=zone.name, name="file" + path.as_posix())
    report = ingest(sm, "docs", [str(folder / "a.txt"), str(folder / "b.md")], track=False)
    assert sorted((i.source_uri.rsplit("/", 1)[-1], i.state) for i in report.items) == [
        ("a.txt", "done"),
        ("b.md", "done"),  # the waiting copy, processed; the same bytes are not copied again
    ]


def test_an_interrupted_load_is_finished_by_the_next_ingest(sm, folder) -> None:
    create_domain(sm, "docs")
    zone = ingest_zone_settings(sm, "docs")
    Path(zone.source, "incoming").mkdir(parents=True)
    source = (folder / "a.txt").resolve()
    # The interrupted run copied an older version of a.txt; the source changed since.
    UnifiedDropZones(sm).drop_data(
        io.BytesIO(b"An older note about liquidity runs."),
        zone=zone.name,
        name="file" + source.as_posix(),
    )
    report = ingest(sm, "docs", [str(folder / "a.txt"), str(folder / "b.md")], track=False)
    # The waiting copy is processed first, then this run's a.txt follows as a new version.
    assert sorted(_states(report).items()) == [("a.txt", "done"), ("b.md", "done")]
    assert [i.state for i in report.items if i.source_uri == source.as_uri()] == ["done", "done"]
    hits = search(sm, "docs", "liquidity", k=5).hits
    assert any("coverage ratios" in h.text for h in hits)
    assert not any("older note" in h.text for h in hits)
    assert show_domain(sm, "docs").documents == 2


def test_local_files_with_unusable_names_fail_clearly_and_the_rest_goes_on(sm, tmp_path) -> None:
    root = tmp_path / "hostile"
    root.mkdir()
    (root / "back\\slash.txt").write_text("A backslash is a separator on Windows.")
    (root / "new\nline.txt").write_text("A newline in a name breaks logs.")
    (root / "fine.txt").write_text("Counterparty credit risk is measured daily.")
    os.mkfifo(root / "pipe.txt")  # never opened: a FIFO would block a reader forever
    create_domain(sm, "docs")
    report = ingest(sm, "docs", [str(root)], track=False)
    assert sorted((i.state, i.code or "") for i in report.items) == [
        ("done", ""),
        ("failed", "invalid_name"),
        ("failed", "invalid_name"),
    ]
    assert all(i.file_id is None and i.error and i.hint for i in report.failures)
    assert {p.name for p in root.iterdir()} == {
        "back\\slash.txt",
        "new\nline.txt",
        "fine.txt",
        "pipe.txt",
    }


def test_sync_removes_documents_whose_file_is_gone(sm, folder: Path) -> None:
    create_domain(sm, "docs")
    ingest(sm, "docs", [str(folder)], track=False)
    (folder / "b.md").unlink()
    preview = sync_domain(sm, "docs", dry_run=True)
    assert preview.removed == [(folder / "b.md").resolve().as_uri()]
    assert show_domain(sm, "docs").documents == 3
    report = sync_domain(sm, "docs")
    assert report.kept == 2 and report.unchecked == []
    assert show_domain(sm, "docs").documents == 2
    assert all("Capital buffers" not in h.text for h in search(sm, "docs", "capital", k=5).hits)


def test_the_scanned_patent_is_a_clear_no_text_layer_failure_without_ocr(sm, tmp_path) -> None:
    create_domain(sm, "patents")
    shutil.copy(PATENT_PDF, tmp_path / PATENT_PDF.name)
    report = ingest(sm, "patents", [str(tmp_path / PATENT_PDF.name)], track=False)
    (item,) = report.items
    assert item.state == "failed" and item.code == "no_text_layer"
    assert "text" in item.error
    assert show_domain(sm, "patents").chunks == 0  # never garbage text


@pytest.mark.parametrize("source", ["", "ftp://host/file", "/does/not/exist", "s3://"])
def test_bad_sources_are_clear_errors_and_nothing_is_copied(sm, folder, source: str) -> None:
    create_domain(sm, "docs")
    with pytest.raises(KnowledgeError):
        ingest(sm, "docs", [str(folder), source], track=False)  # checked before any copy
    assert not [p for p in _zone_root(sm, "docs").rglob("*") if p.is_file()]
    assert show_domain(sm, "docs").documents == 0


def test_an_unknown_domain_fails_before_anything_is_copied(sm, folder) -> None:
    with pytest.raises(DomainNotFound):
        ingest(sm, "nowhere", [str(folder)], track=False)
    assert not (Path(sm.settings.data_dir) / "ingest").exists()


def test_a_domain_name_too_long_for_a_zone_name_is_a_clear_error(sm, folder) -> None:
    name = "d" * 60  # a valid domain name; "ingest-" + it exceeds the zone name limit
    create_domain(sm, name)
    with pytest.raises(DropZoneError, match="at most 63 characters"):
        ingest(sm, name, [str(folder)], track=False)


def test_an_s3_prefix_is_ingested_and_synced(
    data_dir, database_url, moto_s3, s3_bucket, monkeypatch
) -> None:
    from tidyllm.session import UnifiedSessionManager

    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", moto_s3.url)
    with UnifiedSessionManager(data_dir=data_dir, database={"url": database_url}) as sm:
        store = sm.object_store_for(f"s3://{s3_bucket}")
        store.put("inbox/one.txt", b"Stress scenarios include a severe global recession.")
        store.put("inbox/deep/two.md", b"# Inventory\n\nThe model inventory lists every model.")
        store.put("elsewhere/three.txt", b"Not under the prefix.")
        sm.s3_client().put_object(Bucket=s3_bucket, Key="inbox/bad\\name.txt", Body=b"x")
        create_domain(sm, "s3docs")
        report = ingest(sm, "s3docs", [f"s3://{s3_bucket}/inbox/"], track=False)
        assert sorted((i.source_uri, i.state) for i in report.items) == [
            (f"s3://{s3_bucket}/inbox/bad\\name.txt", "failed"),
            (f"s3://{s3_bucket}/inbox/deep/two.md", "done"),
            (f"s3://{s3_bucket}/inbox/one.txt", "done"),
        ]
        (bad,) = report.failures
        assert bad.code == "invalid_name" and "backslash" in bad.error and bad.hint
        rerun = ingest(sm, "s3docs", [f"s3://{s3_bucket}/inbox/"], track=False)
        assert sorted(i.state for i in rerun.items) == ["duplicate", "duplicate", "failed"]
        assert sorted(o.key for o in store.list("inbox/")) == [
            "inbox/bad\\name.txt",
            "inbox/deep/two.md",
            "inbox/one.txt",
        ]  # the sources stay where they are
        store.delete("inbox/one.txt")
        synced = sync_domain(sm, "s3docs")
        assert synced.removed == [f"s3://{s3_bucket}/inbox/one.txt"] and synced.kept == 1


def test_ingest_and_sync_cli(cli, cli_env, folder: Path) -> None:
    assert cli("domains", "create", "docs").exit_code == 0
    result = cli("ingest", "docs", str(folder), "--no-track")
    assert result.exit_code == 1  # broken.pdf failed, and says why
    assert "3 done, 0 duplicate, 1 failed" in result.output
    assert "broken.pdf" in result.output and "[corrupt]" in result.output
    (folder / "broken.pdf").unlink()
    again = cli("ingest", "docs", str(folder), "--no-track")
    assert again.exit_code == 0 and "0 done, 3 duplicate, 0 failed" in again.output
    (folder / "a.txt").unlink()
    synced = cli("domains", "sync", "docs")
    assert synced.exit_code == 0 and "removed 1, kept 2" in synced.output
