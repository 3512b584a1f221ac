"""Inline suppressions: ``# tidyllm: allow[TL101] reason``, and only with a reason.

A suppression on a line with code covers findings on that line; on a line of
its own it covers the next line of code. Comments are found with
``tokenize`` (so a ``#`` inside a string is not a comment), but only in files
whose text mentions ``tidyllm:`` at all, to keep the common path fast.
"""

from __future__ import annotations

import io
import re
import tokenize
from dataclasses import dataclass, field

_MARK = re.compile(r"#\s*tidyllm:\s*allow\[([A-Za-z0-9_,\s]*)\]\s*(.*)$")


@dataclass(slots=True)
class Suppressions:
    """Line -> rule ids allowed there; plus the lines of reason-less comments."""

    by_line: dict[int, set[str]] = field(default_factory=dict)
    missing_reason: list[tuple[int, int]] = field(default_factory=list)

    def allows(self, line: int, rule: str) -> bool:
        """Whether a well-formed suppression covers ``rule`` at ``line``."""
        rules = self.by_line.get(line)
        return bool(rules) and (rule in rules or "*" in rules)


def parse_suppressions(source: str) -> Suppressions:
    """Collect suppression comments from ``source`` (already known to parse)."""
    result = Suppressions()
    if "tidyllm:" not in source:
        return result
    pending: list[tuple[set[str], int]] = []  # own-line comments waiting for code
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, SyntaxError):
        return result
    code_lines: set[int] = set()
    comments: list[tokenize.TokenInfo] = []
    for tok in tokens:
        if tok.type == tokenize.COMMENT:
            comments.append(tok)
        elif tok.type not in (
            tokenize.NL,
            tokenize.NEWLINE,
            tokenize.INDENT,
            tokenize.DEDENT,
            tokenize.ENCODING,
            tokenize.ENDMARKER,
        ):
            code_lines.update(range(tok.start[0], tok.end[0] + 1))
    for tok in comments:
        match = _MARK.search(tok.string)
        if match is None:
            continue
        rules = {r.strip() for r in match.group(1).split(",") if r.strip()}
        line, col = tok.start
        reason = match.group(2).split("#", 1)[0].strip()  # a trailing comment is not a reason
        if not rules or len(reason) < 3:
            result.missing_reason.append((line, col))
            continue
        if line in code_lines:
            result.by_line.setdefault(line, set()).update(rules)
        else:
            pending.append((rules, line))
    ordered = sorted(code_lines)
    for rules, line in pending:
        following = next((n for n in ordered if n > line), None)
        if following is not None:
            result.by_line.setdefault(following, set()).update(rules)
    return result
