"""The built-in allow-list of the legacy official manager module, and its switch."""

from __future__ import annotations

from pathlib import Path

import pytest

from tidyllm.archcheck import CheckConfig, check, load_config
from tidyllm.errors import CheckConfigError

OFFICIAL = 'import boto3\n\nclass UnifiedSessionManager:\n    s3 = boto3.client("s3")\n'
CALLER = "from scripts.start_unified_sessions import UnifiedSessionManager\n"


def _tree(root: Path) -> None:
    (root / "scripts").mkdir()
    (root / "scripts" / "__init__.py").write_text("")
    (root / "scripts" / "start_unified_sessions.py").write_text(OFFICIAL)
    (root / "job.py").write_text(CALLER)


def _rules(root: Path, config: CheckConfig) -> set[tuple[str, str]]:
    return {(Path(f.path).name, f.rule) for f in check([root], config).findings}


def test_the_official_module_is_allowed_by_default_and_its_import_is_tl602(tmp_path: Path) -> None:
    _tree(tmp_path)
    assert _rules(tmp_path, CheckConfig(root=tmp_path)) == {("job.py", "TL602")}


def test_builtin_allow_can_be_switched_off(tmp_path: Path) -> None:
    _tree(tmp_path)
    (tmp_path / "pyproject.toml").write_text("[tool.tidyllm.check]\nbuiltin-allow = false\n")
    config = load_config(tmp_path / "pyproject.toml")
    assert config.builtin_allow == ()
    assert ("start_unified_sessions.py", "TL101") in _rules(tmp_path, config)


def test_builtin_allow_must_be_a_boolean(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.tidyllm.check]\nbuiltin-allow = "no"\n')
    with pytest.raises(CheckConfigError, match="builtin-allow"):
        load_config(tmp_path / "pyproject.toml")


def test_a_bare_module_without_package_folders_is_allowed_too(tmp_path: Path) -> None:
    (tmp_path / "start_unified_sessions.py").write_text(OFFICIAL)
    assert _rules(tmp_path, CheckConfig(root=tmp_path)) == set()
