"""docs/configuration.md documents every setting (and is regenerated, not hand-edited)."""

from pathlib import Path

from tidyllm.settings.template import settings_reference

DOC = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


def test_reference_table_is_current():
    text = DOC.read_text(encoding="utf-8")
    start = text.index("<!-- BEGIN generated settings reference -->\n") + len(
        "<!-- BEGIN generated settings reference -->\n"
    )
    end = text.index("<!-- END generated settings reference -->")
    assert text[start:end].strip() == settings_reference().strip(), (
        "regenerate the table: python -m tidyllm.settings.template"
    )


def test_every_field_has_a_description():
    for row in settings_reference().splitlines()[2:]:
        assert not row.rstrip().endswith("|  |"), f"undocumented setting: {row}"
