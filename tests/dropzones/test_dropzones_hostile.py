"""Hostile inputs end in failed/ with a clear error record; the worker keeps going."""

from __future__ import annotations

import json
import os

from dropzone_helpers import open_dz, rows, tree, zone_conf
from hostile_files import ELF_EXECUTABLE, write_hostile_local_set


def test_hostile_local_files_fail_clearly_and_good_ones_still_pass(
    data_dir, database_url, tmp_path
):
    root = tmp_path / "zone"
    incoming = root / "incoming"
    incoming.mkdir(parents=True)
    expected = write_hostile_local_set(incoming, tmp_path / "outside-secret.txt")
    os.mkfifo(incoming / "pipe.txt")
    expected["pipe.txt"] = "not_a_file"
    (incoming / "good ünïcödé 😀 名前.txt").write_text("perfectly fine text")
    conf = zone_conf("docs", str(root), pipeline="extract", max_file_size_mb=100)
    with open_dz(data_dir, database_url, [conf]) as dz:
        summary = dz.drain(track=False)
        ledger = {r["key"]: r for r in rows(dz)}
    assert summary.count("done") == 1
    assert ledger["good ünïcödé 😀 名前.txt"]["state"] == "done"
    got = {k: r["error"]["code"] for k, r in ledger.items() if r["state"] == "failed"}
    assert got == expected
    t = tree(root)
    assert t["incoming"] == []
    for key, row in ledger.items():
        if row["state"] != "failed":
            continue
        assert row["location"] == "failed"
        dest = root / row["dest_key"]
        assert os.path.lexists(dest), key
        sidecar = json.loads((root / (row["dest_key"] + ".error.json")).read_text())
        assert sidecar["error"] == expected[key]
        assert sidecar["message"] and sidecar["what_to_do"]
    # the symlink itself was moved, never followed; its target is untouched
    link = root / ledger["escape.txt"]["dest_key"]
    assert link.is_symlink()
    assert (tmp_path / "outside-secret.txt").read_text() == "a secret outside the zone"
    assert "secret" not in json.dumps([r["error"] for r in ledger.values()], default=str)


def test_hostile_s3_keys_are_quarantined_with_safe_names(
    data_dir, database_url, s3_bucket, moto_s3
):
    conf = zone_conf("s3z", f"s3://{s3_bucket}/zone/", pipeline="extract")
    with open_dz(data_dir, database_url, [conf], object_store={"endpoint_url": moto_s3.url}) as dz:
        s3 = dz.sm.s3_client()
        hostile = {
            "../escape.txt": "invalid_name",
            "nul\x00byte.txt": "invalid_name",
            "x" * 1000 + ".txt": "invalid_name",
            "back\\slash.txt": "invalid_name",
            "a/../../b.txt": "invalid_name",
            "program.pdf": "mislabelled",
            "zero.txt": "empty",
        }
        for key in hostile:
            body = ELF_EXECUTABLE if key == "program.pdf" else b"" if key == "zero.txt" else b"x"
            s3.put_object(Bucket=s3_bucket, Key="zone/incoming/" + key, Body=body)
        s3.put_object(Bucket=s3_bucket, Key="zone/incoming/fine 😀.txt", Body=b"hello")
        summary = dz.drain(track=False)
        ledger = rows(dz)
        listing = [o["Key"] for o in s3.list_objects_v2(Bucket=s3_bucket).get("Contents", [])]
    assert summary.count("done") == 1
    assert not [k for k in listing if k.startswith("zone/incoming/")]
    failed = [r for r in ledger if r["state"] == "failed"]
    assert len(failed) == len(hostile)
    for r in failed:
        key = bytes(r["key_bytes"]).decode()
        assert r["error"]["code"] == hostile[key]
        assert "zone/" + r["dest_key"] in listing
        assert "zone/" + r["dest_key"] + ".error.json" in listing
        assert "\\" not in r["dest_key"] and "\x00" not in r["dest_key"]
