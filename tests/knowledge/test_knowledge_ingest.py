"""Bulk ingest of folders and S3 prefixes: resumable, never indexing twice; sync drops the gone."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from conftest import PATENT_PDF
from tidyllm.errors import KnowledgeError
from tidyllm.knowledge import create_domain, search, show_domain
from tidyllm.knowledge.ingest import ingest, sync_domain


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
    (root / "broken.pdf").write_bytes(b"%PDF-1.7\n\x00\x01 this is not really a pdf")
    return root


def _statuses(report) -> dict[str, str]:
    return {item.source_uri.rsplit("/", 1)[-1]: item.status for item in report.items}


def test_a_folder_is_ingested_and_a_rerun_changes_nothing(sm, folder: Path) -> None:
    create_domain(sm, "docs")
    first = ingest(sm, "docs", [str(folder)])
    assert _statuses(first) == {
        "a.txt": "added",
        "b.md": "added",
        "c.html": "added",
        "broken.pdf": "failed",
    }
    broken = next(i for i in first.items if i.status == "failed")
    assert broken.code == "corrupt" and broken.error
    assert show_domain(sm, "docs").documents == 3

    with sm.connection() as conn:
        before = conn.execute(
            "SELECT chunks.id, d.indexed_at FROM chunks JOIN documents d "
            "ON d.id = chunks.document_id ORDER BY 1"
        ).fetchall()
    again = ingest(sm, "docs", [str(folder)])
    assert _statuses(again) == {
        "a.txt": "unchanged",
        "b.md": "unchanged",
        "c.html": "unchanged",
        "broken.pdf": "failed",
    }
    with sm.connection() as conn:
        after = conn.execute(
            "SELECT chunks.id, d.indexed_at FROM chunks JOIN documents d "
            "ON d.id = chunks.document_id ORDER BY 1"
        ).fetchall()
    assert after == before

    (folder / "a.txt").write_text("Liquidity rules changed: banks now report daily.\n")
    changed = ingest(sm, "docs", [str(folder)])
    assert _statuses(changed)["a.txt"] == "replaced"
    hits = search(sm, "docs", "liquidity reporting", k=5).hits
    assert any("report daily" in h.text for h in hits)
    assert not any("run." in h.text for h in hits)
    assert {h.metadata["filename"] for h in hits} <= {"a.txt", "b.md", "c.html"}


def test_sync_removes_documents_whose_file_is_gone(sm, folder: Path) -> None:
    create_domain(sm, "docs")
    ingest(sm, "docs", [str(folder)])
    (folder / "b.md").unlink()
    preview = sync_domain(sm, "docs", dry_run=True)
    assert [uri.rsplit("/", 1)[-1] for uri in preview.removed] == ["b.md"]
    assert show_domain(sm, "docs").documents == 3
    report = sync_domain(sm, "docs")
    assert report.kept == 2 and report.unchecked == []
    assert show_domain(sm, "docs").documents == 2
    assert all("Capital buffers" not in h.text for h in search(sm, "docs", "capital", k=5).hits)


def test_the_scanned_patent_is_a_clear_no_text_layer_failure_without_ocr(sm, tmp_path) -> None:
    create_domain(sm, "patents")
    shutil.copy(PATENT_PDF, tmp_path / PATENT_PDF.name)
    report = ingest(sm, "patents", [str(tmp_path / PATENT_PDF.name)])
    (item,) = report.items
    assert item.status == "failed" and item.code == "no_text_layer"
    assert "text" in item.error
    assert show_domain(sm, "patents").chunks == 0  # never garbage text


def test_the_scanned_patent_is_ocrd_when_the_ocr_extra_is_installed(sm, tmp_path) -> None:
    """First page only (OCR takes seconds per page); the other path is the test above."""
    from pypdf import PdfReader, PdfWriter

    from tidyllm.extraction import ocr_available

    if not ocr_available():
        pytest.skip("the OCR extra is not installed; the no-text-layer path is tested above")
    writer = PdfWriter()
    writer.add_page(PdfReader(PATENT_PDF).pages[0])
    writer.write(tmp_path / "patent-page-1.pdf")
    create_domain(sm, "patents")
    (item,) = ingest(sm, "patents", [str(tmp_path / "patent-page-1.pdf")], ocr=True).items
    assert item.status == "added" and item.chunks >= 1
    with sm.connection() as conn:
        assert conn.execute("SELECT ocr FROM documents").fetchone()[0] is True
    hits = search(sm, "patents", "United States Patent", k=1, mode="text").hits
    assert hits and hits[0].page == 1 and "Patent" in hits[0].text


@pytest.mark.parametrize("source", ["", "ftp://host/file", "/does/not/exist"])
def test_bad_sources_are_clear_errors(sm, source: str) -> None:
    create_domain(sm, "docs")
    with pytest.raises(KnowledgeError):
        ingest(sm, "docs", [source])


def test_an_s3_prefix_is_ingested_and_synced(data_dir, database_url, moto_s3, s3_bucket) -> None:
    from tidyllm.session import UnifiedSessionManager

    with UnifiedSessionManager(
        data_dir=data_dir,
        database={"url": database_url},
        object_store={"endpoint_url": moto_s3.url, "bucket": s3_bucket},
    ) as sm:
        store = sm.object_store_for(f"s3://{s3_bucket}")
        store.put("inbox/one.txt", b"Stress scenarios include a severe global recession.")
        store.put("inbox/deep/two.md", b"# Inventory\n\nThe model inventory lists every model.")
        store.put("elsewhere/three.txt", b"Not under the prefix.")
        create_domain(sm, "s3docs")
        report = ingest(sm, "s3docs", [f"s3://{s3_bucket}/inbox/"])
        assert sorted(i.source_uri for i in report.items) == [
            f"s3://{s3_bucket}/inbox/deep/two.md",
            f"s3://{s3_bucket}/inbox/one.txt",
        ]
        assert {i.status for i in report.items} == {"added"}
        assert {i.status for i in ingest(sm, "s3docs", [f"s3://{s3_bucket}/inbox/"]).items} == {
            "unchanged"
        }
        store.delete("inbox/one.txt")
        synced = sync_domain(sm, "s3docs")
        assert synced.removed == [f"s3://{s3_bucket}/inbox/one.txt"] and synced.kept == 1


def test_ingest_and_sync_cli(cli, cli_env, folder: Path) -> None:
    assert cli("domains", "create", "docs").exit_code == 0
    result = cli("ingest", "docs", str(folder))
    assert result.exit_code == 1  # broken.pdf failed, and says why
    assert "3 added, 0 replaced, 0 unchanged, 1 failed" in result.output
    assert "broken.pdf" in result.output
    (folder / "broken.pdf").unlink()
    again = cli("ingest", "docs", str(folder))
    assert again.exit_code == 0 and "0 added, 0 replaced, 3 unchanged, 0 failed" in again.output
    (folder / "a.txt").unlink()
    synced = cli("domains", "sync", "docs")
    assert synced.exit_code == 0 and "removed 1, kept 2" in synced.output
