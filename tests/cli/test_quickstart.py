"""The README's main job: `tidyllm quickstart` on embedded defaults, end to end."""

from pathlib import Path

SAMPLES = Path(__file__).resolve().parents[2] / "samples"


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
    # Running it again re-drops the same bytes: a duplicate, nothing indexed twice.
    again = cli("quickstart", "--samples", str(SAMPLES))
    assert again.exit_code == 0 and ": duplicate" in again.stdout


def test_quickstart_with_a_missing_sample_folder(cli, data_dir, monkeypatch):
    monkeypatch.setenv("TIDYLLM_DATA_DIR", str(data_dir))
    result = cli("quickstart", "--samples", str(data_dir / "nope"))
    assert result.exit_code == 1 and "does not exist" in result.output
