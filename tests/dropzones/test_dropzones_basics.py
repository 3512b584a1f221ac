"""A local zone end to end: detection at start, moves, ledger, duplicates, new versions."""

from __future__ import annotations

import json

from dropzone_helpers import open_dz, rows, tree, zone_conf


def test_files_present_before_start_are_processed_once(data_dir, database_url, tmp_path):
    root = tmp_path / "zone"
    (root / "incoming" / "sub").mkdir(parents=True)
    (root / "incoming" / "a.txt").write_text("alpha")
    (root / "incoming" / "sub" / "b.txt").write_text("beta")
    with open_dz(data_dir, database_url, [zone_conf("docs", str(root))]) as dz:
        summary = dz.drain(track=False)
        assert summary.count("done") == 2
        again = dz.drain(track=False)
        assert again.outcomes == []
        ledger = rows(dz)
    assert sorted((r["key"], r["state"], r["location"]) for r in ledger) == [
        ("a.txt", "done", "processed"),
        ("sub/b.txt", "done", "processed"),
    ]
    t = tree(root)
    assert t["incoming"] == []
    assert sorted(t["processed"]) == sorted(
        r["dest_key"].removeprefix("processed/") for r in ledger
    )
    by_key = {r["key"]: r for r in ledger}
    assert (root / by_key["a.txt"]["dest_key"]).read_text() == "alpha"


def test_same_content_is_duplicate_and_changed_content_is_new_version(
    data_dir, database_url, tmp_path
):
    root = tmp_path / "zone"
    (root / "incoming").mkdir(parents=True)
    src = tmp_path / "report.txt"
    with open_dz(data_dir, database_url, [zone_conf("docs", str(root), pipeline="extract")]) as dz:
        src.write_text("version one")
        dz.drop(src, zone="docs")
        assert dz.drain(track=False).count("done") == 1
        dz.drop(src, zone="docs")  # same bytes, same name
        assert dz.drain(track=False).count("duplicate") == 1
        src.write_text("version two, changed")
        dz.drop(src, zone="docs")
        assert dz.drain(track=False).count("done") == 1
        ledger = rows(dz)
        history = dz.history("report.txt")
    states = [r["state"] for r in ledger]
    assert states == ["done", "duplicate", "done"]
    assert ledger[1]["duplicate_of"] == ledger[0]["id"]
    assert ledger[2]["replaces"] == ledger[0]["id"]
    names = tree(root)["processed"]
    # three versions, three distinct names, plus a report pair for each processed one
    assert len([n for n in names if n.endswith(".txt")]) == 3
    report = json.loads((root / (ledger[2]["dest_key"] + ".report.json")).read_text())
    assert report["steps"]["extract"]["pages"] == 1
    assert [e["kind"] for e in history[0]["events"]][:2] == ["detected", "claimed"]


def test_two_zones_same_name_do_not_interfere_and_worker_sticks_to_its_zone(
    data_dir, database_url, tmp_path
):
    a, b = tmp_path / "a", tmp_path / "b"
    for root, text in ((a, "from a"), (b, "from b")):
        (root / "incoming").mkdir(parents=True)
        (root / "incoming" / "same.txt").write_text(text)
    zones = [
        zone_conf("za", str(a)),
        zone_conf("zb", str(b)),
        zone_conf("off", str(tmp_path / "off"), enabled=False),
    ]
    (tmp_path / "off" / "incoming").mkdir(parents=True)
    (tmp_path / "off" / "incoming" / "x.txt").write_text("never")
    with open_dz(data_dir, database_url, zones) as dz:
        assert dz.drain(["za"], track=False).count("done") == 1
        assert tree(b)["incoming"] == ["same.txt"]
        assert {r["zone"] for r in rows(dz)} == {"za"}
        assert dz.drain(track=False).count("done") == 1  # all enabled zones: zb only left
        assert {r["zone"] for r in rows(dz)} == {"za", "zb"}
    assert tree(tmp_path / "off")["incoming"] == ["x.txt"]
    for root, text in ((a, "from a"), (b, "from b")):
        (processed,) = tree(root)["processed"]
        assert (root / "processed" / processed).read_text() == text
