"""docs/configuration.md documents every setting (and is regenerated, not hand-edited)."""

from pathlib import Path

from tidyllm.settings.template import BEGIN, END, settings_reference

DOC = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


def test_reference_table_is_current():
    text = DOC.read_text(encoding="utf-8")
    start = text.index(BEGIN) + len(BEGIN)
    end = text.index(END)
    assert text[start:end].strip() == settings_reference().strip(), (
        "regenerate the table: python -m tidyllm.settings.template --write"
    )


def test_the_regenerate_hint_rewrites_the_table(tmp_path: Path) -> None:
    import subprocess
    import sys

    stale = tmp_path / "configuration.md"
    stale.write_text(f"# head\n{BEGIN}| old |\n{END}\ntail\n", encoding="utf-8")
    command = [sys.executable, "-m", "tidyllm.settings.template", "--write", str(stale)]
    subprocess.run(command, check=True)
    text = stale.read_text(encoding="utf-8")
    assert settings_reference() in text and "| old |" not in text
    assert text.startswith("# head\n") and text.endswith(f"{END}\ntail\n")


def test_every_field_has_a_description():
    for row in settings_reference().splitlines()[2:]:
        assert not row.rstrip().endswith("|  |"), f"undocumented setting: {row}"
