"""Issue 9 item 2: ``domains sync`` never deletes what came through a drop zone.

A document that arrived by drop is governed by its zone (its processed/ copy), never by
the incoming/ object it was processed from (always gone afterwards). A document that
``ingest`` copied in is removed only when its original file or object is gone. ``--dry-run``
lists exactly what would go; a sync that would remove more than half of a domain asks for
confirmation (``--yes`` skips it; without a terminal it refuses and names the flag).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tidyllm.dropzones import UnifiedDropZones
from tidyllm.errors import KnowledgeError
from tidyllm.knowledge import create_domain, show_domain
from tidyllm.knowledge.ingest import ingest, sync_domain
from tidyllm.session import UnifiedSessionManager


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "corpus"
    root.mkdir()
    (root / "a.txt").write_text("Liquidity coverage ratios protect banks in a run.\n")
    (root / "b.txt").write_text("Capital buffers absorb losses in a recession.\n")
    return root


@pytest.fixture
def drops(tmp_path: Path) -> list[Path]:
    out = []
    for i, text in enumerate(
        ("Operational risk includes model risk.", "Stress tests use severe scenarios.")
    ):
        path = tmp_path / "outbox" / f"dropped-{i}.txt"
        path.parent.mkdir(exist_ok=True)
        path.write_text(text + "\n")
        out.append(path)
    return out


def _zoned_sm(data_dir: Path, database_url: str) -> UnifiedSessionManager:
    """A session manager with a declared zone 'inbox' that indexes into 'mydocs'."""
    zone = {
        "name": "inbox",
        "source": str(data_dir / "zones" / "inbox"),
        "pipeline": "index",
        "domain": "mydocs",
        "quiet_period": 0.0,
    }
    return UnifiedSessionManager(data_dir=data_dir, database={"url": database_url}, zones=[zone])


def _drop_and_work(sm, zone: str, paths: list[Path]) -> None:
    dz = UnifiedDropZones(sm)
    for path in paths:
        dz.drop(path, zone=zone)
    assert dz.run_worker([zone], once=True, track=False).count("done") == len(paths)


def test_sync_keeps_documents_that_came_through_a_drop_zone(
    data_dir, database_url, folder, drops
) -> None:
    with _zoned_sm(data_dir, database_url) as sm:
        create_domain(sm, "mydocs")
        ingest(sm, "mydocs", [str(folder)], track=False)
        _drop_and_work(sm, "inbox", drops[:1])  # a declared zone
        _drop_and_work(sm, "ingest-mydocs", drops[1:])  # `tidyllm drop --zone ingest-mydocs`
        assert show_domain(sm, "mydocs").documents == 4
        report = sync_domain(sm, "mydocs")
        assert report.removed == [] and report.kept == 4 and report.unchecked == []
        assert show_domain(sm, "mydocs").documents == 4

        # The ingested original goes: only it goes.
        (folder / "a.txt").unlink()
        report = sync_domain(sm, "mydocs")
        assert report.removed == [(folder / "a.txt").resolve().as_uri()] and report.kept == 3

        # A dropped document goes with its processed/ copy (the zone governs it).
        processed = [
            p
            for p in (data_dir / "zones" / "inbox" / "processed").rglob("*")
            if p.is_file() and p.suffix == ".txt"
        ]
        assert len(processed) == 1
        processed[0].unlink()
        report = sync_domain(sm, "mydocs")
        assert len(report.removed) == 1 and report.removed[0].endswith(processed[0].name)
        assert show_domain(sm, "mydocs").documents == 2


def test_dry_run_lists_exactly_what_would_go_and_removes_nothing(sm, folder) -> None:
    (folder / "c.txt").write_text("Model validation needs effective challenge.\n")
    create_domain(sm, "docs")
    ingest(sm, "docs", [str(folder)], track=False)
    (folder / "c.txt").unlink()
    preview = sync_domain(sm, "docs", dry_run=True)
    assert preview.removed == [(folder / "c.txt").resolve().as_uri()]
    assert show_domain(sm, "docs").documents == 3
    assert sync_domain(sm, "docs").removed == preview.removed
    assert show_domain(sm, "docs").documents == 2


def test_a_sync_removing_more_than_half_needs_confirmation(sm, folder) -> None:
    (folder / "c.txt").write_text("Model validation needs effective challenge.\n")
    create_domain(sm, "docs")
    ingest(sm, "docs", [str(folder)], track=False)
    (folder / "a.txt").unlink()
    (folder / "b.txt").unlink()
    with pytest.raises(KnowledgeError, match="--yes"):
        sync_domain(sm, "docs")
    asked = []
    with pytest.raises(KnowledgeError, match="nothing was removed"):
        sync_domain(sm, "docs", confirm=lambda plan: asked.append(plan) or False)
    assert len(asked[0].removed) == 2
    assert show_domain(sm, "docs").documents == 3
    report = sync_domain(sm, "docs", confirm=lambda plan: True)
    assert len(report.removed) == 2 and show_domain(sm, "docs").documents == 1


TIDYLLM = str(Path(sys.executable).with_name("tidyllm"))


def _tidyllm(*args: str) -> subprocess.CompletedProcess:
    """The real CLI in a child process with no terminal (stdin is not a TTY)."""
    env = {**os.environ, "AWS_EC2_METADATA_DISABLED": "true"}
    return subprocess.run(
        [TIDYLLM, *args],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_sync_cli_keeps_drops_and_dry_run_lists_what_would_go(
    cli, cli_env, folder: Path, drops
) -> None:
    assert cli("domains", "create", "mydocs").exit_code == 0
    assert cli("ingest", "mydocs", str(folder), "--no-track").exit_code == 0
    for path in drops:
        assert cli("drop", str(path), "--zone", "ingest-mydocs").exit_code == 0
    assert cli("worker", "--zone", "ingest-mydocs", "--once", "--no-track").exit_code == 0
    for path in drops:
        path.unlink()  # the dropped files' own copies elsewhere are irrelevant to sync
    kept = cli("domains", "sync", "mydocs")
    assert kept.exit_code == 0 and "removed 0, kept 4" in kept.output, kept.output

    (folder / "a.txt").unlink()
    (folder / "b.txt").unlink()
    preview = cli("domains", "sync", "mydocs", "--dry-run")
    assert preview.exit_code == 0
    lines = [line for line in preview.output.splitlines() if line.startswith("would remove ")]
    assert lines == [
        f"would remove {(folder / name).resolve().as_uri()}" for name in ("a.txt", "b.txt")
    ] + ["would remove 2, kept 2, could not check 0"]
    assert "documents    4" in cli("domains", "show", "mydocs").output
    done = _tidyllm("domains", "sync", "mydocs")  # exactly half: no question asked
    assert done.returncode == 0 and "removed 2, kept 2" in done.stdout, done.stderr


def test_sync_cli_refuses_without_a_terminal_and_the_named_flag_works(
    cli_env, folder: Path
) -> None:
    (folder / "c.txt").write_text("Model validation needs effective challenge.\n")
    assert _tidyllm("domains", "create", "docs").returncode == 0
    assert _tidyllm("ingest", "docs", str(folder), "--no-track").returncode == 0
    (folder / "a.txt").unlink()
    (folder / "b.txt").unlink()
    refused = _tidyllm("domains", "sync", "docs")
    assert refused.returncode == 1
    message = " ".join((refused.stdout + refused.stderr).split())
    assert "2 of 3" in message and "nothing was removed" in message, message
    assert "documents    3" in _tidyllm("domains", "show", "docs").stdout
    hinted = "tidyllm domains sync docs --yes"
    assert hinted in message
    done = _tidyllm(*hinted.split()[1:])  # the command the message names works as printed
    assert done.returncode == 0 and "removed 2, kept 1" in done.stdout, done.stderr
    assert "documents    1" in _tidyllm("domains", "show", "docs").stdout
