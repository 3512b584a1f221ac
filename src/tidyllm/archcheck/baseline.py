"""Baselines: adopt the checker in a large codebase, then ratchet the count down.

A baseline records the fingerprints of today's findings. Findings in it are
not reported; new ones are. Fingerprints hash the rule, the path and the
whitespace-normalised text of the offending line (plus an occurrence number),
so unrelated edits that move lines do not invalidate the baseline, and the
file holds no source text (no secret can leak into it). Ratcheting drops the
entries that no longer occur; it never adds any.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from tidyllm.archcheck.findings import Finding
from tidyllm.errors import CheckConfigError

_VERSION = 1


@dataclass(frozen=True, slots=True)
class BaselineOutcome:
    """Findings left after the baseline, and how the baseline compared."""

    new: list[Finding]
    matched: int
    stale: list[dict[str, object]]


def load_baseline(path: Path) -> list[dict[str, object]]:
    """Entries of a baseline file; a clear error for anything malformed."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise CheckConfigError(f"baseline file not found: {path}") from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckConfigError(f"baseline file {path} is unreadable: {exc}") from exc
    if not isinstance(data, dict) or data.get("version") != _VERSION:
        raise CheckConfigError(f"baseline file {path} is not a version {_VERSION} baseline")
    entries = data.get("findings")
    if not isinstance(entries, list) or not all(
        isinstance(e, dict) and isinstance(e.get("fingerprint"), str) for e in entries
    ):
        raise CheckConfigError(f"baseline file {path} has malformed entries")
    return entries


def apply_baseline(findings: list[Finding], entries: list[dict[str, object]]) -> BaselineOutcome:
    """Split ``findings`` into new ones and ones already in the baseline."""
    budget = Counter(str(e["fingerprint"]) for e in entries)
    new: list[Finding] = []
    matched = 0
    for finding in findings:
        if finding.rule != "TL000" and budget[finding.fingerprint] > 0:
            budget[finding.fingerprint] -= 1
            matched += 1
        else:
            new.append(finding)
    stale = []
    for entry in entries:
        fp = str(entry["fingerprint"])
        if budget[fp] > 0:
            budget[fp] -= 1
            stale.append(entry)
    return BaselineOutcome(new=new, matched=matched, stale=stale)


def _entry(finding: Finding) -> dict[str, object]:
    return {"fingerprint": finding.fingerprint, "path": finding.path, "rule": finding.rule}


def write_baseline(path: Path, findings: list[Finding]) -> int:
    """Write every finding (except unparsable files) as the new baseline; returns the count."""
    entries = [_entry(f) for f in findings if f.rule != "TL000"]
    _atomic_write(path, {"version": _VERSION, "findings": entries})
    return len(entries)


def ratchet_baseline(path: Path, entries: list[dict[str, object]], outcome: BaselineOutcome) -> int:
    """Rewrite the baseline without its stale entries; returns how many were dropped."""
    if not outcome.stale:
        return 0
    remaining = Counter(str(e["fingerprint"]) for e in outcome.stale)
    kept = []
    for entry in entries:
        fp = str(entry["fingerprint"])
        if remaining[fp] > 0:
            remaining[fp] -= 1
            continue
        kept.append(entry)
    _atomic_write(path, {"version": _VERSION, "findings": kept})
    return len(outcome.stale)


def _atomic_write(path: Path, data: dict[str, object]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=1, sort_keys=True)
            handle.write("\n")
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
