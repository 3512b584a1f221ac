"""Issue 9 item 1: the ledger's exactly-once record means "this content is in its domain now".

Deleting a domain, deleting a document or syncing it away lets the same bytes be indexed
again; a true re-ingest (content still indexed) is still all duplicates; ``reindex=True``
(``tidyllm ingest --reindex``) re-indexes on purpose. Real PostgreSQL, real embedder.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tidyllm.dropzones import UnifiedDropZones
from tidyllm.knowledge import create_domain, delete_domain, search, show_domain
from tidyllm.knowledge.ingest import ingest, sync_domain


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "corpus"
    root.mkdir()
    (root / "a.txt").write_text("Liquidity coverage ratios protect banks in a run.\n")
    (root / "b.md").write_text("# Capital\n\nCapital buffers absorb losses in a recession.\n")
    (root / "c.txt").write_text("Model validation needs effective challenge.\n")
    return root


def _states(report) -> dict[str, str]:
    return {item.source_uri.rsplit("/", 1)[-1]: item.state for item in report.items}


def _chunk_ids(sm, domain: str) -> list[int]:
    with sm.connection() as conn:
        rows = conn.execute(
            "SELECT c.id FROM chunks c JOIN domains d ON d.id = c.domain_id "
            "WHERE d.name = %s ORDER BY 1",
            (domain,),
        ).fetchall()
    return [r[0] for r in rows]


def _event_kinds(sm) -> list[str]:
    with sm.connection() as conn:
        return [r[0] for r in conn.execute("SELECT kind FROM events ORDER BY id").fetchall()]


def test_a_deleted_and_recreated_domain_is_indexed_again(sm, folder: Path) -> None:
    create_domain(sm, "sigtest")
    first = ingest(sm, "sigtest", [str(folder)], track=False)
    assert set(_states(first).values()) == {"done"}
    delete_domain(sm, "sigtest")
    create_domain(sm, "sigtest")
    again = ingest(sm, "sigtest", [str(folder)], track=False)
    assert _states(again) == {"a.txt": "done", "b.md": "done", "c.txt": "done"}
    assert again.chunks >= 3
    assert show_domain(sm, "sigtest").documents == 3
    assert any("coverage ratios" in h.text for h in search(sm, "sigtest", "liquidity").hits)
    # The audit trail says why the old records no longer count (append-only: new events).
    assert _event_kinds(sm).count("content_released") == 3
    # And now it is in the domain again: a rerun is all duplicates.
    rerun = ingest(sm, "sigtest", [str(folder)], track=False)
    assert set(_states(rerun).values()) == {"duplicate"}


def test_a_deleted_document_is_indexed_again(sm, folder: Path) -> None:
    create_domain(sm, "docs")
    ingest(sm, "docs", [str(folder)], track=False)
    doc_uri = next(
        uri for uri in _document_uris(sm, "docs") if uri.endswith("/a.txt")
    )  # the ingest zone's copy of a.txt
    with sm.connection() as conn:  # however a document goes (API, SQL), its row is gone
        assert conn.execute("DELETE FROM documents WHERE source_uri = %s", (doc_uri,)).rowcount
    assert show_domain(sm, "docs").documents == 2
    again = ingest(sm, "docs", [str(folder)], track=False)
    assert _states(again) == {"a.txt": "done", "b.md": "duplicate", "c.txt": "duplicate"}
    assert show_domain(sm, "docs").documents == 3


def _document_uris(sm, domain: str) -> list[str]:
    with sm.connection() as conn:
        rows = conn.execute(
            "SELECT source_uri FROM documents d JOIN domains m ON m.id = d.domain_id "
            "WHERE m.name = %s ORDER BY 1",
            (domain,),
        ).fetchall()
    return [r[0] for r in rows]


def test_a_synced_away_file_that_comes_back_is_indexed_again(sm, folder: Path) -> None:
    create_domain(sm, "docs")
    ingest(sm, "docs", [str(folder)], track=False)
    saved = (folder / "b.md").read_bytes()
    (folder / "b.md").unlink()
    assert sync_domain(sm, "docs").removed == [(folder / "b.md").resolve().as_uri()]
    (folder / "b.md").write_bytes(saved)  # restored, the same bytes
    again = ingest(sm, "docs", [str(folder)], track=False)
    assert _states(again) == {"a.txt": "duplicate", "b.md": "done", "c.txt": "duplicate"}
    assert show_domain(sm, "docs").documents == 3
    assert any("Capital buffers" in h.text for h in search(sm, "docs", "capital buffers").hits)


def test_a_true_rerun_is_still_all_duplicates_with_identical_chunks(sm, folder: Path) -> None:
    (folder / "copy-of-a.txt").write_bytes((folder / "a.txt").read_bytes())
    create_domain(sm, "docs")
    first = ingest(sm, "docs", [str(folder)], track=False)
    assert sorted(_states(first).values()) == ["done", "done", "done", "duplicate"]
    chunks = _chunk_ids(sm, "docs")
    again = ingest(sm, "docs", [str(folder)], track=False)
    assert set(_states(again).values()) == {"duplicate"} and again.chunks == 0
    assert _chunk_ids(sm, "docs") == chunks
    assert "content_released" not in _event_kinds(sm)


def test_reindex_rewrites_content_that_is_still_indexed(sm, folder: Path) -> None:
    (folder / "copy-of-a.txt").write_bytes((folder / "a.txt").read_bytes())
    create_domain(sm, "docs")
    ingest(sm, "docs", [str(folder)], track=False)
    before = _chunk_ids(sm, "docs")
    again = ingest(sm, "docs", [str(folder)], track=False, reindex=True)
    # Each content is indexed once more; a second copy of the same bytes stays a duplicate.
    assert sorted(_states(again).values()) == ["done", "done", "done", "duplicate"]
    after = _chunk_ids(sm, "docs")
    assert len(after) == len(before) and not set(after) & set(before)  # replaced, not added
    assert show_domain(sm, "docs").documents == 3
    rerun = ingest(sm, "docs", [str(folder)], track=False)
    assert set(_states(rerun).values()) == {"duplicate"}


def test_a_drop_into_a_zone_is_indexed_again_after_its_domain_was_recreated(
    sm, tmp_path: Path
) -> None:
    """The drop-zone path (worker, not ingest): a re-drop of the same bytes after the domain
    was deleted and created again is indexed, not a duplicate of a document that is gone."""
    from tidyllm.dropzones.api import ingest_zone_settings

    create_domain(sm, "mydocs")
    zone = ingest_zone_settings(sm, "mydocs")
    Path(zone.source, "incoming").mkdir(parents=True)
    note = tmp_path / "note.txt"
    note.write_text("Operational risk includes model risk.\n")
    dz = UnifiedDropZones(sm)
    dz.drop(note, zone=zone.name)
    assert dz.run_worker([zone.name], once=True, track=False).count("done") == 1
    dz.drop(note, zone=zone.name)
    assert dz.run_worker([zone.name], once=True, track=False).count("duplicate") == 1
    delete_domain(sm, "mydocs")
    create_domain(sm, "mydocs")
    dz.drop(note, zone=zone.name)
    assert dz.run_worker([zone.name], once=True, track=False).count("done") == 1
    assert show_domain(sm, "mydocs").documents == 1


def test_ingest_reindex_cli(cli, cli_env, folder: Path) -> None:
    assert cli("domains", "create", "docs").exit_code == 0
    assert "3 done, 0 duplicate" in cli("ingest", "docs", str(folder), "--no-track").output
    again = cli("ingest", "docs", str(folder), "--no-track")
    assert "0 done, 3 duplicate" in again.output
    forced = cli("ingest", "docs", str(folder), "--no-track", "--reindex")
    assert forced.exit_code == 0 and "3 done, 0 duplicate" in forced.output
    assert cli("domains", "delete", "docs", "-y").exit_code == 0
    assert cli("domains", "create", "docs").exit_code == 0
    back = cli("ingest", "docs", str(folder), "--no-track")
    assert back.exit_code == 0 and "3 done, 0 duplicate" in back.output, back.output


def test_quickstart_after_deleting_its_domain_indexes_again(embedded_data_dir, tmp_path) -> None:
    """`tidyllm domains delete quickstart -y && tidyllm quickstart` indexes the samples again
    (real CLI processes on a private data dir with its own embedded PostgreSQL)."""
    import os
    import re
    import subprocess
    import sys

    samples = tmp_path / "samples"
    samples.mkdir()
    (samples / "notes.txt").write_text("The SCAP required $185 billion of additional capital.")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIDYLLM_")}
    env.update(TIDYLLM_DATA_DIR=str(embedded_data_dir), AWS_EC2_METADATA_DISABLED="true")

    def tidyllm(*args: str) -> str:
        done = subprocess.run(
            [str(Path(sys.executable).with_name("tidyllm")), *args],
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    outcome = re.compile(r"^notes\.txt \(#\d+\): (\w+)", re.M)
    assert outcome.findall(tidyllm("quickstart", "--samples", str(samples))) == ["done"]
    assert outcome.findall(tidyllm("quickstart", "--samples", str(samples))) == ["duplicate"]
    tidyllm("domains", "delete", "quickstart", "-y")
    out = tidyllm("quickstart", "--samples", str(samples))
    assert outcome.findall(out) == ["done"], out
    assert "$185 billion" in out
    assert "documents    1" in tidyllm("domains", "show", "quickstart")
