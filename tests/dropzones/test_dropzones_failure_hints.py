"""Failed files get honest codes and a next step that works, run here as a user would."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import yaml
from dropzone_helpers import cli_args, open_dz, rows, tree, zone_conf

EXTRACTION_TESTS = Path(__file__).resolve().parents[1] / "extraction"
sys.path.insert(0, str(EXTRACTION_TESTS))
from extraction_builders import circular_page_tree_pdf, text_pdf  # noqa: E402


def _run(command: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run a printed ``tidyllm ...`` hint exactly as written (the real CLI, a subprocess)."""
    argv = shlex.split(command)
    assert argv[0] == "tidyllm", command
    return subprocess.run(
        cli_args(*argv[1:]), env=env, cwd=cwd, capture_output=True, text=True, timeout=300
    )


def test_failed_files_have_honest_codes_names_and_working_next_steps(
    data_dir, database_url, tmp_path
):
    root = tmp_path / "zone"
    incoming = root / "incoming"
    incoming.mkdir(parents=True)
    (incoming / " UPPER .PDF ").write_bytes(text_pdf())  # spaces around an upper-case name
    (incoming / " BROKEN .PDF ").write_bytes(circular_page_tree_pdf())
    (incoming / "line\nbreak.txt").write_text("a newline in the name")
    (incoming / "empty.txt").write_bytes(b"")
    (incoming / "table.csv").write_text("a,b\n1,2\n")  # not allowed here: fixable by config
    zones = [
        zone_conf("docs", str(root), pipeline="extract", allowed_types=["pdf", "txt"]),
    ]
    config = tmp_path / "tidyllm.yaml"
    config.write_text(yaml.safe_dump({"zones": zones}))
    with open_dz(data_dir, database_url, zones) as dz:
        summary = dz.drain(track=False)
        ledger = {r["key"]: r for r in rows(dz)}
    assert summary.count("done") == 1, ledger
    assert ledger[" UPPER .PDF "]["state"] == "done"
    assert ledger[" UPPER .PDF "]["dest_key"].endswith(".PDF")
    broken = ledger[" BROKEN .PDF "]
    assert broken["state"] == "failed" and broken["error"]["code"] == "corrupt"
    assert "report it" not in broken["error"]["hint"]
    assert broken["dest_key"].startswith("failed/") and broken["dest_key"].endswith(".PDF")
    assert ledger["empty.txt"]["error"]["hint"] == (
        "The file is empty. Upload a copy that has content."
    )

    def sidecar(key: str) -> dict:
        return json.loads((root / (ledger[key]["dest_key"] + ".error.json")).read_text())

    env = {k: v for k, v in os.environ.items() if not k.startswith(("TIDYLLM_", "DATABASE_URL"))}
    env.update(TIDYLLM_DATA_DIR=str(data_dir), DATABASE_URL=database_url)
    env["TIDYLLM_CONFIG"] = str(config)

    # A bad name cannot be moved back: the record says so and gives a drop that works.
    bad_name = sidecar("line\nbreak.txt")
    assert bad_name["error"] == "invalid_name"
    assert "zones retry" not in bad_name["retry"]
    refused = _run(f"tidyllm zones retry {bad_name['ledger_id']}", env, tmp_path)
    assert refused.returncode == 1  # why the record must not suggest it
    fixed = tmp_path / "linebreak.txt"
    fixed.write_text("renamed")
    command = bad_name["retry"].split("(", 1)[1].rstrip(")").replace("FILE", str(fixed))
    dropped = _run(command, env, tmp_path)
    assert dropped.returncode == 0, dropped.stderr
    assert "linebreak.txt" in tree(root)["incoming"]

    # The empty file and the corrupt PDF would fail again as they are: no retry offered.
    assert "zones retry" not in sidecar("empty.txt")["retry"]
    assert "zones retry" not in sidecar(" BROKEN .PDF ")["retry"]

    # A type the zone refuses can succeed once the zone allows it: retry is offered and works.
    csv = sidecar("table.csv")
    assert csv["retry"] == f"tidyllm zones retry {csv['ledger_id']}"
    retried = _run(csv["retry"], env, tmp_path)
    assert retried.returncode == 0, retried.stderr
    assert "1 file(s) queued again" in retried.stdout
    assert "table.csv" in tree(root)["incoming"]
