"""Codemod before/after pairs, idempotence, compilation and import placement."""

from __future__ import annotations

import ast
import os
import stat
from pathlib import Path

import pytest

from tidyllm.archcheck import CheckConfig, check
from tidyllm.archcheck.codemod import rewrite_source
from tidyllm.archcheck.migrate import migrate

CASES = Path(__file__).parent / "codemod_cases"
PAIRS = sorted(p.stem for p in CASES.glob("*.before"))


@pytest.mark.parametrize("name", PAIRS)
def test_before_after_pair(name: str) -> None:
    before = (CASES / f"{name}.before").read_bytes()
    expected = (CASES / f"{name}.after").read_bytes()
    out, _, _ = rewrite_source(before)
    assert out.decode() == expected.decode()


@pytest.mark.parametrize("name", PAIRS)
def test_second_run_changes_nothing(name: str) -> None:
    once, _, _ = rewrite_source((CASES / f"{name}.before").read_bytes())
    twice, rewrites, todos = rewrite_source(once)
    assert twice == once
    assert (rewrites, todos) == (0, 0)


@pytest.mark.parametrize("name", PAIRS)
def test_output_compiles(name: str) -> None:
    out, _, _ = rewrite_source((CASES / f"{name}.before").read_bytes())
    compile(out, name, "exec", dont_inherit=True)


def test_pairs_cover_each_rewrite() -> None:
    after = "".join((CASES / f"{n}.after").read_text() for n in PAIRS)
    for method in ("get_s3_client()", "get_bedrock_client()", "get_mlflow_client()"):
        assert method in after
    assert "with UnifiedSessionManager().get_postgres_connection() as conn:" in after
    assert "# TODO(tidyllm): TL201" in after  # the unsafe non-`with` connect
    assert "S3SessionManager" not in (CASES / "legacy_import.after").read_text().split("\n", 4)[4]


def test_import_goes_after_shebang_encoding_docstring_and_future() -> None:
    out = rewrite_source((CASES / "header.before").read_bytes())[0].decode()
    lines = out.splitlines()
    assert lines[0] == "#!/usr/bin/env python3"
    assert lines[1] == "# -*- coding: utf-8 -*-"
    tree = ast.parse(out)
    assert ast.get_docstring(tree) is not None  # docstring still first, still intact
    future = next(
        i
        for i, s in enumerate(tree.body)
        if isinstance(s, ast.ImportFrom) and s.module == "__future__"
    )
    ours = [
        i
        for i, s in enumerate(tree.body)
        if isinstance(s, ast.ImportFrom) and s.module == "tidyllm"
    ]
    assert len(ours) == 1 and ours[0] > future
    assert "# a comment about the imports" in out
    assert out.count("UnifiedSessionManager\n") == 1


def test_latin1_file_keeps_its_encoding() -> None:
    source = '# -*- coding: latin-1 -*-\nimport boto3\nNAME = "caf\xe9"\ns3 = boto3.client("s3")\n'
    raw = source.encode("latin-1")
    out, rewrites, _ = rewrite_source(raw)
    assert rewrites == 1
    assert "caf\xe9".encode("latin-1") in out
    compile(out, "latin", "exec")


def test_migrate_write_then_check_is_cleaner(tmp_path: Path) -> None:
    target = tmp_path / "job.py"
    target.write_bytes((CASES / "s3_client.before").read_bytes())
    target.chmod(0o755)
    before = {f.rule for f in check([target]).findings}
    result = migrate([target], write=True)
    assert [c.path for c in result.changed] == [target.as_posix()]
    assert "TL101" in before
    assert "TL101" not in {f.rule for f in check([target]).findings}
    assert os.stat(target).st_mode & stat.S_IXUSR  # still executable
    again = migrate([target], write=True)
    assert again.changed == []


def test_migrate_diff_writes_nothing(tmp_path: Path) -> None:
    target = tmp_path / "job.py"
    original = (CASES / "psycopg2_with.before").read_bytes()
    target.write_bytes(original)
    result = migrate([target], write=False)
    assert (
        "+    with UnifiedSessionManager().get_postgres_connection() as conn:"
        in result.changed[0].diff
    )
    assert target.read_bytes() == original


def test_migrate_leaves_the_allowed_module_alone(tmp_path: Path) -> None:
    pkg = tmp_path / "tidyllm" / "session"
    pkg.mkdir(parents=True)
    (tmp_path / "tidyllm" / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("")
    original = 'import boto3\n\nS3 = boto3.client("s3")\n'
    (pkg / "s3.py").write_text(original)
    config = CheckConfig(root=tmp_path, allow={"*": ("tidyllm.session",)})
    assert migrate([tmp_path], write=True, config=config).changed == []
    assert (pkg / "s3.py").read_text() == original


def test_unparsable_file_is_reported_and_untouched(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("def broken(:\n    boto3.client('s3')\n")
    good = tmp_path / "good.py"
    good.write_text("import boto3\ns3 = boto3.client('s3')\n")
    result = migrate([tmp_path], write=True)
    errors = {Path(c.path).name: c.error for c in result.errors}
    assert "does not parse" in errors["bad.py"]
    assert bad.read_text() == "def broken(:\n    boto3.client('s3')\n"
    assert "get_s3_client" in good.read_text()


def _statement_start(tree: ast.Module, line: int) -> int:
    """First line of the innermost statement holding ``line``."""
    best = None
    for node in ast.walk(tree):
        inside = isinstance(node, ast.stmt) and (
            node.lineno <= line <= (node.end_lineno or node.lineno)
        )
        if inside and (best is None or node.lineno >= best.lineno):
            best = node
    return best.lineno if best is not None else line


@pytest.mark.parametrize("name", PAIRS)
def test_every_finding_left_has_a_todo(name: str) -> None:
    from tidyllm.archcheck.codemod import source_findings

    out = rewrite_source((CASES / f"{name}.before").read_bytes())[0]
    lines = out.decode().splitlines()
    tree = ast.parse(out)
    for line, rule, _ in source_findings(out):
        start = _statement_start(tree, line)
        above = []
        i = start - 2
        while i >= 0 and lines[i].lstrip().startswith("#"):
            above.append(lines[i])
            i -= 1
        todos = [t for t in above if "TODO(tidyllm):" in t]
        assert todos, f"{name}:{line} {rule} left without a TODO"
        assert any(f"TODO(tidyllm): {rule} " in t or "legacy" in t for t in todos), (name, line)


@pytest.mark.parametrize("name", PAIRS)
def test_the_import_is_never_duplicated(name: str) -> None:
    out = rewrite_source((CASES / f"{name}.before").read_bytes())[0]
    plain = [
        s
        for s in ast.parse(out).body
        if isinstance(s, ast.ImportFrom)
        and s.module == "tidyllm"
        and any(a.name == "UnifiedSessionManager" and a.asname is None for a in s.names)
    ]
    assert len(plain) <= 1


def test_imports_made_unused_are_removed_in_functions_too() -> None:
    out = (CASES / "function_local_imports.after").read_text()
    assert out.count("import boto3") == 1  # the function that still uses boto3 keeps it
    assert "import psycopg2" not in out
    assert "import json" in out  # still used
    assert "def report():\n    # TODO" in out  # no blank line left where the import was


def test_unrewritable_findings_get_todos() -> None:
    out = (CASES / "todo_unrewritable.after").read_text()
    for rule in ("TL502", "TL403", "TL501"):
        assert f"# TODO(tidyllm): {rule} " in out
    assert "os.getenv('{}_PASSWORD')" in out  # the f-string read
    assert "Tr0ub4dor" not in "".join(line for line in out.splitlines() if "TODO" in line)


def test_official_module_import_is_rewritten_and_the_file_itself_left_alone(
    tmp_path: Path,
) -> None:
    out = (CASES / "official_module.after").read_text()
    assert "start_unified_sessions" not in out
    assert "from tidyllm import UnifiedSessionManager\n" in out
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    (scripts / "__init__.py").write_text("")
    official = 'import boto3\n\nS3 = boto3.client("s3")\n'
    (scripts / "start_unified_sessions.py").write_text(official)
    assert migrate([tmp_path], write=True, config=CheckConfig(root=tmp_path)).changed == []
    assert (scripts / "start_unified_sessions.py").read_text() == official
