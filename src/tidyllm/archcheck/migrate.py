"""``migrate()``: run the codemod over files, as a diff or in place.

The check pass decides which files the codemod sees: only files with a
finding (after allow-lists and suppressions) are parsed with LibCST, and in
each only the statements that need it (:mod:`tidyllm.archcheck.slicing`);
files run in worker processes (``jobs``, 0 = one per CPU).

Nothing is written unless the rewritten module still parses and compiles
(for a file in Python 3.12+ syntax that this interpreter cannot compile,
"parses with LibCST's 3.13 grammar"); files are replaced atomically with
their permissions kept (scripts stay executable). A file that does not parse
is reported and left untouched.
"""

from __future__ import annotations

import difflib
import io
import os
import shutil
import tempfile
import tokenize
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import libcst as cst

from tidyllm.archcheck import _libcst_speed
from tidyllm.archcheck.checker import _display, check, iter_python_files
from tidyllm.archcheck.codemod import rewrite_source, source_findings
from tidyllm.archcheck.config import CheckConfig
from tidyllm.archcheck.resolver import module_name
from tidyllm.archcheck.slicing import rewrite_reduced

_libcst_speed.apply()


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


LineFinding = tuple[int, str, str]  # line, rule, message


def _rewrite(
    original: bytes, legacy: frozenset[str], findings: list[LineFinding] | None, sliced: bool = True
) -> tuple[bytes, int, int]:
    """The codemod on the statements that need it (the whole module when slicing does not apply).

    ``findings`` (None: the module's own, computed here) choose the statements
    to keep, and each gets a rewrite or a TODO.
    """
    if findings is None:
        findings = source_findings(original, legacy)
    try:
        text = original.decode("utf-8") if sliced else None
    except UnicodeDecodeError:
        text = None
    if text is not None:

        def run(small: str, line_map: dict[int, int]) -> tuple[str, int, int]:
            mapped = [(line_map[line], *rest) for line, *rest in findings if line in line_map]
            out, rewrites, todos = rewrite_source(small.encode("utf-8"), legacy, findings=mapped)
            return out.decode("utf-8"), rewrites, todos

        reduced = rewrite_reduced(text, [line for line, *_ in findings], legacy, run)
        if reduced is not None:
            return reduced[0].encode("utf-8"), reduced[1], reduced[2]
    return rewrite_source(original, legacy, findings=findings)


def _compiles(new: bytes, original: bytes, path: Path) -> str | None:
    """None if ``new`` is valid Python; else why not."""
    try:
        compile(new, str(path), "exec", dont_inherit=True)
        return None
    except (SyntaxError, ValueError) as exc:
        error = str(exc)
    try:  # newer syntax than this interpreter's: LibCST's grammar is the judge
        compile(original, str(path), "exec", dont_inherit=True)
    except (SyntaxError, ValueError):
        try:
            cst.parse_module(new)
            return None
        except (cst.ParserSyntaxError, ValueError) as exc:
            error = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return error


def migrate_file(
    path: Path,
    write: bool,
    config: CheckConfig | None = None,
    findings: list[LineFinding] | None = None,
) -> FileChange:
    """Rewrite one file; write it only if ``write`` and the result compiles.

    ``findings``: what ``check`` reported in this file; the codemod then skips
    the definitions that hold none, and adds a TODO for each it cannot
    rewrite. None: the file's own findings, and the whole module.
    """
    config = config or CheckConfig()
    change = FileChange(path=path.as_posix())
    module, _ = module_name(path)
    if config.is_allowed(module, "*"):
        return change  # the session manager itself is left alone
    try:
        original = path.read_bytes()
        new, change.rewrites, change.todos = _rewrite(
            original, config.legacy_names, findings, sliced=findings is not None
        )
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
    problem = _compiles(new, original, path)
    if problem is not None:  # a codemod bug: never write broken code
        change.error = f"rewrite would not compile ({problem}); file left unchanged"
        return change
    encoding = _encoding(original)
    before = original.decode(encoding).splitlines(keepends=True)
    after = new.decode(encoding).splitlines(keepends=True)
    change.diff = "".join(
        difflib.unified_diff(before, after, f"a/{change.path}", f"b/{change.path}")
    )
    if write:
        _atomic_replace(path, new)
    return change


def _encoding(data: bytes) -> str:
    """The source encoding as LibCST reports it (a BOM stays in the text), without parsing."""
    encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    return "utf-8" if encoding == "utf-8-sig" else encoding


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _migrate_one(args: tuple[Path, bool, CheckConfig, list[LineFinding]]) -> FileChange:
    return migrate_file(*args)


def migrate(
    paths: list[Path],
    write: bool = False,
    config: CheckConfig | None = None,
    jobs: int = 0,
) -> MigrateResult:
    """Run the codemod over the files ``check`` reports under ``paths`` (diff unless ``write``).

    ``jobs`` worker processes (0: one per CPU) run both the check and the
    rewrites. A file without findings is neither parsed by LibCST nor listed.
    """
    config = config or CheckConfig()
    found = check(paths, config, jobs=jobs)
    per_file: dict[str, list[LineFinding]] = {}
    for finding in found.findings:
        per_file.setdefault(finding.path, []).append((finding.line, finding.rule, finding.message))
    work = [
        (path, write, config, per_file[_display(path)])
        for path in iter_python_files(paths, config)
        if _display(path) in per_file
    ]
    if jobs == 0:
        jobs = os.cpu_count() or 1
    result = MigrateResult()
    if jobs > 1 and len(work) > 1:
        # Largest files first, so no worker is left with a big one at the end.
        order = sorted(range(len(work)), key=lambda i: -_size(work[i][0]))
        done: dict[int, FileChange] = {}
        with ProcessPoolExecutor(max_workers=min(jobs, len(work))) as pool:
            for index, change in zip(
                order, pool.map(_migrate_one, [work[i] for i in order], chunksize=1), strict=True
            ):
                done[index] = change
        result.changes.extend(done[i] for i in range(len(work)))
    else:
        result.changes.extend(_migrate_one(item) for item in work)
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
