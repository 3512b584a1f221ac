"""A zone with `ocr: true` reads a scanned page; the same file fails clearly without it."""

from __future__ import annotations

import json

import pytest
from dropzone_helpers import open_dz, rows, zone_conf

from tidyllm.extraction import ocr_available


def test_without_ocr_a_scan_fails_with_a_hint_naming_the_setting(
    tmp_path, data_dir, database_url, scanned_page
):
    zone = zone_conf("scans", str(tmp_path / "zone"), pipeline="extract")
    with open_dz(data_dir, database_url, [zone]) as dz:
        dz.drop(scanned_page, zone="scans")
        dz.drain(["scans"], track=False)
        (row,) = rows(dz)
    assert row["state"] == "failed"
    sidecar = next((tmp_path / "zone" / "failed").rglob("*.error.json"))
    error = json.loads(sidecar.read_text())
    assert "no text layer" in json.dumps(error) and "ocr: true" in json.dumps(error)


@pytest.mark.skipif(not ocr_available(), reason="the ocr extra is not installed")
def test_ocr_zone_reads_the_scan(tmp_path, data_dir, database_url, scanned_page):
    zone = zone_conf(
        "scans", str(tmp_path / "zone"), pipeline="extract,report", ocr=True, parse_timeout=120
    )
    with open_dz(data_dir, database_url, [zone]) as dz:
        dz.drop(scanned_page, zone="scans")
        dz.drain(["scans"], track=False)
        (row,) = rows(dz)
    assert row["state"] == "done", row["error"]
    report = next((tmp_path / "zone" / "processed").rglob("*.json"))
    assert '"ocr": true' in report.read_text()
