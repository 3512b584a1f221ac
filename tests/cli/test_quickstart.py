"""The README's main job: `tidyllm quickstart` on embedded defaults, end to end."""

from pathlib import Path

from tidyllm.quickstart import WEB_HINT

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
README = Path(__file__).resolve().parents[2] / "README.md"


def test_quickstart_processes_samples_and_answers_with_a_citation(
    cli, embedded_data_dir, monkeypatch
):
    monkeypatch.setenv("TIDYLLM_DATA_DIR", str(embedded_data_dir))
    result = cli("quickstart", "--samples", str(SAMPLES))
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert ": done" in out  # the Fed report was extracted and indexed
    assert "failed - the PDF has no text layer" in out  # the scanned patent, without OCR
    assert "$185 billion" in out  # the answer is on physical page 9 of the report
    assert ", page 9" in out
    # it ends with the README's line on opening the web app
    assert " ".join(out.split()).endswith(WEB_HINT)
    assert WEB_HINT in README.read_text(encoding="utf-8")
    # Running it again re-drops the same bytes: a duplicate, nothing indexed twice.
    again = cli("quickstart", "--samples", str(SAMPLES))
    assert again.exit_code == 0 and ": duplicate" in again.stdout


def test_quickstart_with_a_missing_sample_folder(cli, data_dir, monkeypatch):
    monkeypatch.setenv("TIDYLLM_DATA_DIR", str(data_dir))
    result = cli("quickstart", "--samples", str(data_dir / "nope"))
    assert result.exit_code == 1 and "does not exist" in result.output


def test_quickstart_names_files_and_its_printed_hints_work_later(
    cli, embedded_data_dir, scanned_page, monkeypatch
):
    import os
    import re
    import shlex
    import subprocess
    import sys

    from tidyllm.extraction import ocr_available

    samples = scanned_page.parent  # a scanned page (fails without OCR) and a text note
    (samples / "notes.txt").write_text("The SCAP required $185 billion of additional capital.")
    monkeypatch.setenv("TIDYLLM_DATA_DIR", str(embedded_data_dir))
    result = cli("quickstart", "--samples", str(samples))
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert re.search(r"^notes\.txt \(#\d+\): done", out, re.M), out
    assert "file #" not in out
    scan = re.search(
        r"^patent-header\.pdf \(#(\d+)\): failed - the PDF has no text layer.*\n  next: (.*)$",
        out,
        re.M,
    )
    assert scan, out

    env = {k: v for k, v in os.environ.items() if not k.startswith("TIDYLLM_")}
    env["TIDYLLM_DATA_DIR"] = str(embedded_data_dir)

    def run(command: str) -> subprocess.CompletedProcess[str]:
        argv = shlex.split(command)
        assert argv[0] == "tidyllm", command
        code = "from tidyllm.cli.main import run; run()"
        return subprocess.run(
            [sys.executable, "-c", code, *argv[1:]],
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )

    # The quickstart's zone is known to later commands: retry, status, worker.
    retried = run(f"tidyllm zones retry {scan.group(1)}")
    assert retried.returncode == 0, retried.stdout + retried.stderr
    assert "1 file(s) queued again" in retried.stdout
    status = run("tidyllm zones status")
    assert status.returncode == 0, status.stdout + status.stderr
    assert "quickstart: " in status.stdout and "pending 1" in status.stdout
    work = re.search(r"`(tidyllm worker --once)`", retried.stdout)  # retry's own hint
    assert work, retried.stdout
    worked = run(work.group(1))  # exactly as printed
    assert worked.returncode == 0, worked.stdout + worked.stderr
    assert "failed 1" in worked.stdout  # processed again (the quickstart zone never OCRs)

    # The scan's printed next step, run as printed, indexes it with OCR.
    hint = scan.group(2)
    if not ocr_available():
        assert hint.startswith("pip install 'tidyllm[ocr]', then tidyllm ingest quickstart ")
        return
    command = hint.split("  (")[0]
    assert command.startswith("tidyllm ingest quickstart ") and command.endswith(" --ocr")
    ingested = run(command)
    assert ingested.returncode == 0, ingested.stdout + ingested.stderr
    assert "1 done" in ingested.stdout, ingested.stdout
