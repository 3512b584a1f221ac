"""Hostile input: the checker reports and goes on; it never crashes."""

from __future__ import annotations

from pathlib import Path

import pytest

from tidyllm.archcheck import CheckConfig, check, load_config
from tidyllm.archcheck.baseline import load_baseline
from tidyllm.errors import CheckConfigError


def _rules(path: Path) -> list[tuple[str, str]]:
    return [(Path(f.path).name, f.rule) for f in check([path]).findings]


def test_unparsable_files_are_reported_and_the_rest_still_checked(tmp_path: Path) -> None:
    (tmp_path / "syntax.py").write_text("def broken(:\n")
    (tmp_path / "nul.py").write_bytes(b"x = 1\x00\n")
    (tmp_path / "binary.py").write_bytes(bytes(range(256)))
    (tmp_path / "badcookie.py").write_bytes(b"# -*- coding: no-such-codec -*-\nx = 1\n")
    (tmp_path / "deep.py").write_text("x = " + "(" * 300 + "1" + ")" * 300 + "\n")
    (tmp_path / "empty.py").write_text("")
    (tmp_path / "ok.py").write_text("import boto3\nboto3.client('s3')\n")
    found = _rules(tmp_path)
    for name in ("syntax.py", "nul.py", "binary.py", "badcookie.py", "deep.py"):
        assert (name, "TL000") in found
    assert ("ok.py", "TL101") in found
    assert not [f for f in found if f[0] == "empty.py"]


def test_syntax_error_location(tmp_path: Path) -> None:
    (tmp_path / "syntax.py").write_text("x = 1\ny = (\n")
    finding = check([tmp_path]).findings[0]
    assert finding.rule == "TL000" and finding.line == 2


def test_unreadable_file(tmp_path: Path) -> None:
    target = tmp_path / "dir.py"
    target.mkdir()  # a folder named like a module: walked, not read
    (tmp_path / "link.py").symlink_to(tmp_path / "missing-target.py")
    found = _rules(tmp_path)
    assert found == [("link.py", "TL000")]


def test_reexport_cycle_terminates(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from pkg.b import x\n")
    (pkg / "b.py").write_text("from pkg.a import x\n")
    (pkg / "c.py").write_text("from pkg.a import x\nx()\n")
    (pkg / "d.py").write_text("y = y\nz = z.w\ny()\nz()\n")
    assert check([tmp_path]).findings == []


def test_suppression_inside_a_string_is_not_a_suppression(tmp_path: Path) -> None:
    (tmp_path / "s.py").write_text(
        "import boto3\nboto3.client('s3', x='# tidyllm: allow[TL101] not a comment')\n"
    )
    assert _rules(tmp_path) == [("s.py", "TL101")]


def test_missing_path_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(CheckConfigError):
        check([tmp_path / "nope"])


@pytest.mark.parametrize(
    "toml",
    [
        "[tool.tidyllm.check\n",
        "[tool.tidyllm.check]\nexclude = 'x'\n",
        "[tool.tidyllm.check]\nunknown = 1\n",
        "[tool.tidyllm.check]\nallow = { TL999 = [] }\n",
        "[tool.tidyllm.check]\nallow = 3\n",
        "[tool.tidyllm.check]\ndisable = ['nope']\n",
        "[tool.tidyllm.check]\nbaseline = 3\n",
        "[tool.tidyllm]\ncheck = 1\n",
    ],
)
def test_bad_config_is_a_clear_error(tmp_path: Path, toml: str) -> None:
    path = tmp_path / "pyproject.toml"
    path.write_text(toml)
    with pytest.raises(CheckConfigError):
        load_config(path)


@pytest.mark.parametrize(
    "content",
    ["", "{", "[]", '{"version": 2, "findings": []}', '{"version": 1, "findings": [{}]}'],
)
def test_bad_baseline_is_a_clear_error(tmp_path: Path, content: str) -> None:
    path = tmp_path / "b.json"
    path.write_text(content)
    with pytest.raises(CheckConfigError):
        load_baseline(path)


def test_disable_and_per_rule_allow(tmp_path: Path) -> None:
    (tmp_path / "settings.py").write_text(
        "import os\nimport boto3\nos.environ['DATABASE_URL']\nboto3.client('s3')\n"
    )
    config = CheckConfig(root=tmp_path, allow={"TL501": ("settings",)})
    assert [f.rule for f in check([tmp_path], config).findings] == ["TL101"]
    config = CheckConfig(root=tmp_path, disable=frozenset({"TL101", "TL501"}))
    assert check([tmp_path], config).findings == []


def test_parallel_run_matches_serial(tmp_path: Path) -> None:
    for i in range(210):
        (tmp_path / f"m{i}.py").write_text(f"import boto3\nc{i} = boto3.client('s3')\n")
    serial = check([tmp_path], jobs=1).findings
    parallel = check([tmp_path], jobs=2).findings
    assert serial == parallel and len(serial) == 210
