"""Python 3.12/3.13-only files are parsed (LibCST's grammar) and every rule runs on them."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

from tidyllm.archcheck import check
from tidyllm.archcheck.migrate import migrate
from tidyllm.archcheck.newsyntax import lower

NEWER = """import boto3
import os


def first[T](items: list[T]) -> T:
    return items[0]


class Box[T: int, *Ts, **P]:
    def get(self) -> T:
        return boto3.client("s3")


type Pair[K = str] = tuple[K, K]
names = ["a", "b"]
label = f"{", ".join(names)} {f"{os.environ["OPENAI_API_KEY"]}"}"
multi = f"{boto3.resource(
    's3')}"
dsn = "postgresql://u:Zq8-real-pw@db/x"
s3 = boto3.client("s3")
"""


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="this interpreter parses it natively")
def test_the_sample_really_is_newer_than_this_interpreter() -> None:
    with pytest.raises(SyntaxError):
        ast.parse(NEWER)


def test_lowering_keeps_lines_and_parses_with_ast() -> None:
    lowered = lower(NEWER)
    assert lowered is not None
    ast.parse(lowered)
    assert lowered.count("\n") == NEWER.count("\n")
    old, new = NEWER.splitlines(), lowered.splitlines()
    assert new[4] == "def first   (items: list[T]) -> T:"  # same columns
    assert new[13].startswith("Pair") and new[13].index("tuple") == old[13].index("tuple")
    assert old[18:] == new[18:]


def test_every_rule_runs_on_a_newer_file(tmp_path: Path) -> None:
    (tmp_path / "new.py").write_text(NEWER)
    found = [(f.line, f.rule) for f in check([tmp_path]).findings]
    assert found == [
        (11, "TL101"),  # inside a generic class
        (16, "TL501"),  # inside a PEP 701 nested f-string
        (17, "TL101"),  # a multi-line {} in a one-line f-string
        (19, "TL502"),
        (20, "TL101"),
    ]


def test_invalid_code_is_still_tl000(tmp_path: Path) -> None:
    (tmp_path / "bad.py").write_text("def broken[T](:\n    pass\n")
    (finding,) = check([tmp_path]).findings
    assert finding.rule == "TL000" and "syntax error" in finding.message


def test_migrate_rewrites_a_newer_file(tmp_path: Path) -> None:
    target = tmp_path / "new.py"
    target.write_text(NEWER)
    result = migrate([tmp_path], write=True, jobs=1)
    assert result.errors == []
    out = target.read_text()
    assert "s3 = UnifiedSessionManager().get_s3_client()" in out
    assert "def first[T](items: list[T]) -> T:" in out  # newer syntax kept as written
    assert migrate([tmp_path], write=True, jobs=1).changed == []
