"""CI gate: the project's own source passes `tidyllm check` with its pyproject configuration."""

from __future__ import annotations

from pathlib import Path

from tidyllm.archcheck import check, load_config

ROOT = Path(__file__).resolve().parents[2]


def test_project_source_has_no_findings() -> None:
    config = load_config(ROOT / "pyproject.toml")
    assert config.allow.get("*") == ("tidyllm.session",)  # the only allowed place
    result = check([ROOT / "src"], config)
    assert result.files_checked > 0
    assert [f"{f.path}:{f.line} {f.rule} {f.message}" for f in result.findings] == []


def test_archcheck_rule_tables_are_not_flagged_without_the_allow_list() -> None:
    # The rule tables name every banned API as data; strings are not calls.
    result = check([ROOT / "src" / "tidyllm" / "archcheck"])
    assert result.findings == []
