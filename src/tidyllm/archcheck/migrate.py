"""``migrate()``: run the codemod over files, as a diff or in place.

Nothing is written unless the rewritten module still parses and compiles;
files are replaced atomically with their permissions kept (scripts stay
executable). A file that does not parse is reported and left untouched.
"""

from __future__ import annotations

import difflib
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import libcst as cst

from tidyllm.archcheck.checker import iter_python_files
from tidyllm.archcheck.codemod import rewrite_source
from tidyllm.archcheck.config import CheckConfig
from tidyllm.archcheck.resolver import module_name


@dataclass(slots=True)
class FileChange:
    """The outcome for one file: its diff (if changed) or why it was skipped."""

    path: str
    diff: str = ""
    rewrites: int = 0
    todos: int = 0
    error: str | None = None

    @property
    def changed(self) -> bool:
        """Whether the codemod would change (or changed) this file."""
        return bool(self.diff)


@dataclass(slots=True)
class MigrateResult:
    """All files considered by one ``migrate()`` run."""

    changes: list[FileChange] = field(default_factory=list)

    @property
    def changed(self) -> list[FileChange]:
        """Files with a diff."""
        return [c for c in self.changes if c.changed]

    @property
    def errors(self) -> list[FileChange]:
        """Files that could not be read, parsed or safely rewritten."""
        return [c for c in self.changes if c.error]


def migrate_file(path: Path, write: bool, config: CheckConfig | None = None) -> FileChange:
    """Rewrite one file; write it only if ``write`` and the result compiles."""
    config = config or CheckConfig()
    change = FileChange(path=path.as_posix())
    module, _ = module_name(path)
    if config.is_allowed(module, "*"):
        return change  # the session manager itself is left alone
    try:
        original = path.read_bytes()
        new, change.rewrites, change.todos = rewrite_source(original, config.legacy_names)
    except OSError as exc:
        change.error = f"cannot read: {exc.strerror or exc}"
        return change
    except (cst.ParserSyntaxError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        change.error = (
            f"does not parse: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
        )
        return change
    if new == original:
        return change
    try:
        compile(new, str(path), "exec", dont_inherit=True)
    except (SyntaxError, ValueError) as exc:  # a codemod bug: never write broken code
        change.error = f"rewrite would not compile ({exc}); file left unchanged"
        return change
    encoding = cst.parse_module(original).encoding
    before = original.decode(encoding).splitlines(keepends=True)
    after = new.decode(encoding).splitlines(keepends=True)
    change.diff = "".join(
        difflib.unified_diff(before, after, f"a/{change.path}", f"b/{change.path}")
    )
    if write:
        _atomic_replace(path, new)
    return change


def migrate(
    paths: list[Path], write: bool = False, config: CheckConfig | None = None
) -> MigrateResult:
    """Run the codemod over every Python file under ``paths`` (diff only unless ``write``)."""
    config = config or CheckConfig()
    result = MigrateResult()
    for path in iter_python_files(paths, config):
        result.changes.append(migrate_file(path, write, config))
    return result


def _atomic_replace(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        shutil.copymode(path, tmp)
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
