"""`ingest --ocr` goes through the drop-zone ledger: OCR is the domain's sticky flag.

One OCR run in the whole file (the patent's first page cropped to its header, about
5 s); every other test uses text files, where the flag changes nothing but itself.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import tidyllm.extraction
from tidyllm.dropzones import UnifiedDropZones
from tidyllm.dropzones.api import OCR_PARSE_TIMEOUT, implicit_zones, ingest_zone_settings
from tidyllm.errors import DomainNotFound, DropZoneError, KnowledgeError
from tidyllm.extraction import ocr_available
from tidyllm.knowledge import create_domain, delete_domain, search, show_domain
from tidyllm.knowledge.domains import set_domain_ocr
from tidyllm.knowledge.ingest import ingest


@pytest.fixture
def note(tmp_path: Path) -> Path:
    path = tmp_path / "notes" / "note.txt"
    path.parent.mkdir()
    path.write_text("Counterparty credit risk is measured every day.\n")
    return path


def _flag(sm, domain: str) -> bool:
    return show_domain(sm, domain).domain.ocr


def _documents(sm) -> list[tuple]:
    with sm.connection() as conn:
        return conn.execute(
            "SELECT id, source_uri, version, content_hash, chunk_count, ocr, indexed_at "
            "FROM documents ORDER BY id"
        ).fetchall()


def _chunk_ids(sm) -> list[int]:
    with sm.connection() as conn:
        return [r[0] for r in conn.execute("SELECT id FROM chunks ORDER BY id")]


def _files_copied(sm) -> list[Path]:
    root = Path(sm.settings.data_dir) / "ingest"
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


@pytest.mark.skipif(not ocr_available(), reason="the OCR extra is not installed")
def test_a_scan_fails_without_ocr_then_is_ocrd_through_the_ledger_once(sm, scanned_page) -> None:
    create_domain(sm, "scans")
    dz = UnifiedDropZones(sm)

    # The domain's flag is off: the scan is a clear no-text-layer failure, in the ledger.
    (failed,) = ingest(sm, "scans", [str(scanned_page)], track=False).items
    assert failed.state == "failed" and failed.code == "no_text_layer"
    assert dz.get(failed.file_id).zone == "ingest-scans"
    assert _chunk_ids(sm) == [] and _flag(sm, "scans") is False

    # --ocr: the flag is set first, then the same file goes through the ledger again
    # (its content failed before, so it may be claimed again) and is indexed.
    report = ingest(sm, "scans", [str(scanned_page)], ocr=True, track=False)
    assert report.zone == "ingest-scans" and report.ocr is True
    (done,) = report.items
    assert done.state == "done", done.error
    assert done.source_uri == scanned_page.resolve().as_uri() and done.chunks >= 1
    assert _flag(sm, "scans") is True  # persistent, in PostgreSQL

    row = dz.get(done.file_id)
    assert (row.zone, row.state, row.location) == ("ingest-scans", "done", "processed")
    assert row.result["steps"]["extract"]["ocr"] is True
    kinds = [e["kind"] for e in dz.history(done.file_id)[0]["events"]]
    assert kinds[:2] == ["detected", "claimed"] and len(kinds) >= 3
    (document,) = _documents(sm)
    assert document[5] is True  # documents.ocr
    assert document[1].startswith(Path(ingest_zone_settings(sm, "scans").source).as_uri())
    hits = search(sm, "scans", "Skeete", k=3, mode="text").hits
    assert hits and hits[0].page == 1 and "Skeete" in hits[0].text  # real OCR'd words

    # The same load again, flag kept (ocr=None): a duplicate, nothing re-indexed.
    chunks, documents = _chunk_ids(sm), _documents(sm)
    (again,) = ingest(sm, "scans", [str(scanned_page)], track=False).items
    assert again.state == "duplicate" and again.chunks == 0
    assert dz.get(again.file_id).duplicate_of == done.file_id
    assert _chunk_ids(sm) == chunks and _documents(sm) == documents
    assert _flag(sm, "scans") is True

    # Turning OCR off does not undo what is done: still a duplicate, the flag is off.
    (off,) = ingest(sm, "scans", [str(scanned_page)], ocr=False, track=False).items
    assert off.state == "duplicate"
    assert _chunk_ids(sm) == chunks and _documents(sm) == documents
    assert _flag(sm, "scans") is False
    assert scanned_page.is_file()  # the source is only read


def test_ocr_none_keeps_the_flag_and_true_false_set_it(sm, note) -> None:
    create_domain(sm, "notes", ocr=True)
    assert _flag(sm, "notes") is True
    first = ingest(sm, "notes", [str(note)], track=False)  # ocr=None: kept
    assert [i.state for i in first.items] == ["done"] and first.ocr is True
    assert _flag(sm, "notes") is True
    assert ingest_zone_settings(sm, "notes").ocr is True
    assert ingest_zone_settings(sm, "notes").parse_timeout == OCR_PARSE_TIMEOUT  # ~30 pages

    second = ingest(sm, "notes", [str(note)], ocr=False, track=False)
    assert [i.state for i in second.items] == ["duplicate"] and second.ocr is False
    assert _flag(sm, "notes") is False

    third = ingest(sm, "notes", [str(note)], track=False)
    assert third.ocr is False and _flag(sm, "notes") is False  # off stays off
    assert ingest_zone_settings(sm, "notes").parse_timeout < OCR_PARSE_TIMEOUT

    set_domain_ocr(sm, "notes", True)
    # Any new UnifiedDropZones (a worker started now, on any machine) sees the new value.
    (zone,) = [z for z in implicit_zones(sm) if z.name == "ingest-notes"]
    assert zone.ocr is True
    (opened,) = UnifiedDropZones(sm).zones(["ingest-notes"])
    assert opened.settings.ocr is True


def test_a_running_worker_keeps_the_zone_settings_it_was_built_with(sm, note) -> None:
    create_domain(sm, "notes")
    ingest(sm, "notes", [str(note)], track=False)
    worker = UnifiedDropZones(sm).worker(["ingest-notes"])
    set_domain_ocr(sm, "notes", True)
    assert worker.zones["ingest-notes"].settings.ocr is False  # restart to pick it up
    assert UnifiedDropZones(sm).worker(["ingest-notes"]).zones["ingest-notes"].settings.ocr


def test_a_folder_whose_domain_was_deleted_does_not_crash_the_worker(sm, note) -> None:
    create_domain(sm, "gone", ocr=True)
    ingest(sm, "gone", [str(note)], track=False)
    delete_domain(sm, "gone")
    dz = UnifiedDropZones(sm)
    zone = ingest_zone_settings(sm, "gone")
    assert zone.ocr is False  # no domain, no flag: today's behaviour
    assert "ingest-gone" in [z.name for z in dz.list_zones()]
    # A file left in the orphaned zone fails clearly; the worker goes on.
    other = note.with_name("other.txt")
    other.write_text("Liquidity buffers absorb outflows.")
    with other.open("rb") as data:
        dz.drop_data(data, zone="ingest-gone", name="file" + other.resolve().as_posix())
    summary = dz.run_worker(["ingest-gone"], once=True, track=False)
    assert summary.count("failed") == 1
    (row,) = [r for r in dz.ledger.by_key("file" + other.resolve().as_posix(), "ingest-gone")]
    assert row.state == "failed" and "gone" in row.error["message"]


# --- hostile input ----------------------------------------------------------------------------


def test_an_unknown_domain_with_ocr_fails_before_anything_changes(sm, note) -> None:
    create_domain(sm, "other")
    with pytest.raises(DomainNotFound):
        ingest(sm, "nowhere", [str(note)], ocr=True, track=False)
    assert _files_copied(sm) == []
    assert _flag(sm, "other") is False
    with sm.connection() as conn:
        assert conn.execute("SELECT count(*) FROM domains").fetchone()[0] == 1


@pytest.mark.parametrize("source", ["", "/does/not/exist", "ftp://host/x", "s3://"])
def test_a_bad_source_with_ocr_leaves_the_flag_untouched(sm, note, source: str) -> None:
    create_domain(sm, "notes")
    with pytest.raises(KnowledgeError):
        ingest(sm, "notes", [str(note), source], ocr=True, track=False)
    assert _files_copied(sm) == [] and _flag(sm, "notes") is False


def test_a_domain_name_too_long_for_a_zone_leaves_the_flag_untouched(sm, note) -> None:
    name = "d" * 60
    create_domain(sm, name)
    with pytest.raises(DropZoneError, match="at most 63 characters"):
        ingest(sm, name, [str(note)], ocr=True, track=False)
    assert _flag(sm, name) is False


def test_ocr_without_the_extra_is_a_clear_error_and_nothing_changes(
    sm, note, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Test double: the OCR extra IS installed here, so its absence is simulated by
    replacing ``tidyllm.extraction.ocr_available`` with a function returning False."""
    create_domain(sm, "notes")
    monkeypatch.setattr(tidyllm.extraction, "ocr_available", lambda: False)
    with pytest.raises(KnowledgeError, match="OCR extra is not installed"):
        ingest(sm, "notes", [str(note)], ocr=True, track=False)
    assert _files_copied(sm) == [] and _flag(sm, "notes") is False
    # Turning OCR off (or keeping it off) needs no extra.
    report = ingest(sm, "notes", [str(note)], ocr=False, track=False)
    assert [i.state for i in report.items] == ["done"]


@pytest.mark.parametrize("bad", ["yes", 1, 0.0])
def test_a_non_boolean_ocr_is_refused(sm, note, bad) -> None:
    create_domain(sm, "notes")
    with pytest.raises(KnowledgeError, match="ocr must be"):
        ingest(sm, "notes", [str(note)], ocr=bad, track=False)
    with pytest.raises(KnowledgeError, match="ocr must be"):
        set_domain_ocr(sm, "notes", bad)
    with pytest.raises(KnowledgeError, match="ocr must be"):
        create_domain(sm, "more", ocr=bad)
    assert _files_copied(sm) == [] and _flag(sm, "notes") is False


def test_set_domain_ocr_on_an_unknown_or_invalid_domain(sm) -> None:
    with pytest.raises(DomainNotFound):
        set_domain_ocr(sm, "nowhere", True)
    with pytest.raises(KnowledgeError, match="invalid domain name"):
        set_domain_ocr(sm, "'; DROP TABLE domains; --", True)
    assert set_domain_ocr(sm, create_domain(sm, "ok").name, True).ocr is True


def test_a_single_string_is_not_taken_for_a_list_of_sources(sm, note) -> None:
    create_domain(sm, "notes")
    with pytest.raises(KnowledgeError, match="list"):
        ingest(sm, "notes", str(note), ocr=True, track=False)  # type: ignore[arg-type]
    assert _files_copied(sm) == [] and _flag(sm, "notes") is False


# --- CLI --------------------------------------------------------------------------------------


def test_cli_domain_flag_create_show_and_ingest(cli, cli_env, note) -> None:
    created = cli("domains", "create", "notes", "--ocr")
    assert created.exit_code == 0 and "OCR on" in created.output
    assert "ocr          on" in cli("domains", "show", "notes").output
    kept = cli("ingest", "notes", str(note), "--no-track")  # no option: the flag is kept
    assert kept.exit_code == 0 and "1 done" in kept.output and "OCR on" in kept.output
    off = cli("ingest", "notes", str(note), "--no-ocr", "--no-track")
    assert off.exit_code == 0 and "1 duplicate" in off.output and "OCR on" not in off.output
    assert "ocr          off" in cli("domains", "show", "notes").output
    missing = cli("ingest", "nowhere", str(note), "--ocr", "--no-track")
    assert missing.exit_code != 0 and "nowhere" in missing.output
