"""Run the codemod on the part of a module that needs it, and splice the result back.

LibCST's scope and parent analysis costs about 2 ms per line, for the whole
module, however few lines a rewrite touches. ``migrate`` therefore hands the
codemod a *reduced* module: every top-level statement that holds a finding,
mentions a legacy name (or an alias of one), contains an import, or is not a
``def``/``class`` is kept verbatim; every run of other top-level
``def``/``class`` statements becomes a one-line stub that binds the same
names and mentions the imported names their text mentions (``helper =
Report = (json, os, Path)``), so qualified names and "is this import still
used?" (a mention anywhere, see ``codemod._Uses``) come out as in the whole
module. The codemod's changes to the reduced module are then mapped back
onto the original lines.

Any doubt falls back to the whole module: a change that touches a stub, a
file with suppression comments (``tidyllm:``), a file that is not UTF-8, or a
file too small to be worth it.
"""

from __future__ import annotations

import ast
import difflib
import io
import re
from collections.abc import Callable, Iterable

_SMALL = 120  # lines: below this the whole module is cheap enough
_WORD = re.compile(r"[A-Za-z_]\w*")
# Strings first, so a "#" inside one is not a comment (a regex, not tokenize: 40x faster).
_STRING_OR_COMMENT = re.compile(
    r'''"""(?:\\.|[^\\])*?"""|\'\'\'(?:\\.|[^\\])*?\'\'\''''
    r"""|"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*'|#[^\n]*""",
    re.S,
)
_ALIAS = re.compile(r"\b([A-Za-z_]\w*)\s+as\s+([A-Za-z_]\w*)")


def split_lines(text: str) -> list[str]:
    """Lines as Python counts them (``\\n``, ``\\r\\n``, ``\\r``), with their endings."""
    return io.StringIO(text, newline="").readlines()


def without_comments(code: str) -> str:
    """``code`` with its comments removed (strings kept): what counts as mentioning a name."""
    return _STRING_OR_COMMENT.sub(lambda m: "" if m.group(0)[0] == "#" else m.group(0), code)


def _imported(tree: ast.Module) -> set[str]:
    """Every name an import binds anywhere in the module."""
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            for alias in node.names:
                out.add(alias.asname or alias.name.split(".")[0])
    return out


def reduce_module(
    text: str, keep_lines: Iterable[int], legacy_names: frozenset[str]
) -> tuple[str, list[tuple[int, int, bool]]] | None:
    """The reduced source and, per reduced line, (original start, end, is stub).

    None when slicing is not worth it (or not safe): use the whole module.
    """
    lines = split_lines(text)
    if len(lines) < _SMALL or "tidyllm:" in text:
        return None
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError):
        return None
    sensitive = {n for n in legacy_names if n in text}
    for match in _ALIAS.finditer(text):
        if match.group(1) in sensitive:
            sensitive.add(match.group(2))
    keep = set(keep_lines)
    imported = _imported(tree)
    spans: list[tuple[int, int, str, list[str]]] = []  # first, last, name, imported refs
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            continue
        first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
        last = node.end_lineno or node.lineno
        if any(first <= n <= last for n in keep):
            continue
        segment = "".join(lines[first - 1 : last])
        if "import" in segment or any(s in segment for s in sensitive):
            continue
        # Words, not ast names: a mention in a string keeps an import too (codemod._Uses).
        words = _WORD.findall(without_comments(segment))
        refs = [w for w in dict.fromkeys(words) if w in imported]
        if spans and all(
            not lines[i].strip() or lines[i].lstrip().startswith("#")
            for i in range(spans[-1][1], first - 1)
        ):  # only blank lines and comments since the previous stub: one stub for both
            prev = spans.pop()
            spans.append((prev[0], last, f"{prev[2]} = {node.name}", prev[3] + refs))
        else:
            spans.append((first, last, node.name, refs))
    stubs: dict[int, tuple[int, str]] = {}  # first line (1-based) -> (last line, stub)
    for first, last, names, refs in spans:
        value = f"({', '.join(dict.fromkeys(refs))},)" if refs else "None"
        stubs[first] = (last, f"{names} = {value}\n")
    if not stubs:
        return None
    out: list[str] = []
    origin: list[tuple[int, int, bool]] = []
    number = 1
    while number <= len(lines):
        if number in stubs:
            last, stub = stubs[number]
            out.append(stub)
            origin.append((number, last, True))
            number = last + 1
        else:
            out.append(lines[number - 1])
            origin.append((number, number, False))
            number += 1
    return "".join(out), origin


def original_line(origin: list[tuple[int, int, bool]]) -> dict[int, int]:
    """Original line -> reduced line, for kept lines."""
    return {start: i + 1 for i, (start, _end, stub) in enumerate(origin) if not stub}


def splice(
    text: str, reduced: str, rewritten: str, origin: list[tuple[int, int, bool]]
) -> str | None:
    """``text`` with the codemod's changes to ``reduced`` applied; None if a stub changed."""
    lines = split_lines(text)
    before = split_lines(reduced)
    after = split_lines(rewritten)
    out: list[str] = []
    matcher = difflib.SequenceMatcher(None, before, after, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            for start, end, _stub in origin[i1:i2]:
                out.extend(lines[start - 1 : end])
            continue
        if any(stub for _s, _e, stub in origin[i1:i2]):
            return None
        out.extend(after[j1:j2])
    return "".join(out)


def rewrite_reduced(
    text: str,
    keep_lines: Iterable[int],
    legacy_names: frozenset[str],
    rewrite: Callable[[str, dict[int, int]], tuple[str, int, int]],
) -> tuple[str, int, int] | None:
    """Run ``rewrite(reduced_text, line_map)`` and splice it back; None: use the whole module."""
    reduced = reduce_module(text, keep_lines, legacy_names)
    if reduced is None:
        return None
    small, origin = reduced
    new_small, rewrites, todos = rewrite(small, original_line(origin))
    if new_small == small:
        return text, 0, 0
    spliced = splice(text, small, new_small, origin)
    if spliced is None:
        return None
    return spliced, rewrites, todos
