"""The unit of output: one finding at one place in one file."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from tidyllm.archcheck.rules import RULES


@dataclass(frozen=True, slots=True, order=True)
class Finding:
    """A call site (or import, env read, literal) that bypasses the session manager.

    ``path`` is as given to the checker (relative paths stay relative) with
    forward slashes, so reports and baselines are stable across machines.
    ``message`` never contains the offending value: secrets must not leak
    into reports.
    """

    path: str
    line: int
    col: int
    rule: str
    message: str
    fingerprint: str = ""

    @property
    def replacement(self) -> str:
        """The suggested replacement for this finding's rule."""
        return RULES[self.rule].replacement

    def to_dict(self) -> dict[str, object]:
        """Plain-data form for JSON output."""
        data = asdict(self)
        data["replacement"] = self.replacement
        data["title"] = RULES[self.rule].title
        return data
