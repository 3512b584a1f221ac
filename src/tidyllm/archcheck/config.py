"""``[tool.tidyllm.check]`` in pyproject.toml: allow-lists per rule, excludes, baseline.

Example::

    [tool.tidyllm.check]
    exclude = ["tests/archcheck/corpus/**"]
    baseline = ".tidyllm-baseline.json"
    legacy-names = ["OldBucketHelper"]      # added to the built-in legacy names
    disable = []                            # rule ids switched off entirely
    builtin-allow = true                    # the legacy official manager module is allowed

    [tool.tidyllm.check.allow]
    "*" = ["tidyllm.session"]               # every rule
    TL501 = ["myapp.settings"]              # one rule

A module pattern is an ``fnmatch`` pattern over dotted module names; a plain
name also covers its sub-modules (``tidyllm.session`` allows
``tidyllm.session.s3``). Excludes are ``fnmatch`` patterns over paths relative
to the directory holding pyproject.toml (``**`` crosses folders).

Built in, unless ``builtin-allow = false``: the legacy official manager module
(``start_unified_sessions``, in any package) is allowed for every rule. It *is*
the old manager, so its own clients are not violations, and ``migrate`` must
not rewrite it; importing the manager from it is TL602 instead.
"""

from __future__ import annotations

import fnmatch
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from tidyllm.archcheck.rules import LEGACY_NAMES, LEGACY_OFFICIAL_MODULES, RULES
from tidyllm.errors import CheckConfigError

DEFAULT_EXCLUDES: tuple[str, ...] = (
    ".git",
    ".hg",
    ".venv",
    "venv",
    ".tox",
    "__pycache__",
    "build",
    "dist",
    "node_modules",
    ".mypy_cache",
    ".ruff_cache",
)
_KEYS = frozenset({"allow", "exclude", "baseline", "legacy-names", "disable", "builtin-allow"})


@dataclass(frozen=True, slots=True)
class CheckConfig:
    """Resolved configuration. ``root`` anchors relative excludes and the baseline."""

    root: Path = field(default_factory=Path.cwd)
    allow: dict[str, tuple[str, ...]] = field(default_factory=dict)
    exclude: tuple[str, ...] = ()
    baseline: Path | None = None
    legacy_names: frozenset[str] = LEGACY_NAMES
    disable: frozenset[str] = frozenset()
    builtin_allow: tuple[str, ...] = LEGACY_OFFICIAL_MODULES

    def is_allowed(self, module: str, rule: str) -> bool:
        """Whether ``module`` may use the APIs behind ``rule``."""
        if rule in ("TL000", "TL001"):
            return False
        patterns = self.allow.get("*", ()) + self.allow.get(rule, ()) + self.builtin_allow
        return any(_module_matches(module, p) for p in patterns)

    def is_excluded(self, path: Path) -> bool:
        """Whether ``path`` (file or folder) is excluded by name or by pattern."""
        if path.name in DEFAULT_EXCLUDES:
            return True
        try:
            rel = path.resolve().relative_to(self.root.resolve()).as_posix()
        except ValueError:
            rel = path.as_posix()
        return any(
            fnmatch.fnmatchcase(rel, pattern) or fnmatch.fnmatchcase(rel, pattern.rstrip("/*"))
            for pattern in self.exclude
        )


def _module_matches(module: str, pattern: str) -> bool:
    return fnmatch.fnmatchcase(module, pattern) or (
        module.startswith(pattern + ".") and not any(c in pattern for c in "*?[")
    )


def find_pyproject(start: Path) -> Path | None:
    """The nearest pyproject.toml at or above ``start``."""
    start = start.resolve()
    for folder in (start, *start.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def _str_list(value: object, key: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise CheckConfigError(f"[tool.tidyllm.check] {key} must be a list of strings")
    return tuple(value)


def load_config(pyproject: Path | None) -> CheckConfig:
    """Read ``[tool.tidyllm.check]`` from ``pyproject``; defaults if absent or None."""
    if pyproject is None:
        return CheckConfig()
    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise CheckConfigError(f"cannot read {pyproject}: {exc}") from exc
    section = data.get("tool", {}).get("tidyllm", {}).get("check", {})
    if not isinstance(section, dict):
        raise CheckConfigError("[tool.tidyllm.check] must be a table")
    unknown = set(section) - _KEYS
    if unknown:
        raise CheckConfigError(f"[tool.tidyllm.check] unknown keys: {', '.join(sorted(unknown))}")
    root = pyproject.parent
    allow_raw = section.get("allow", {})
    if not isinstance(allow_raw, dict):
        raise CheckConfigError("[tool.tidyllm.check.allow] must be a table")
    allow: dict[str, tuple[str, ...]] = {}
    for rule, modules in allow_raw.items():
        if rule != "*" and rule not in RULES:
            raise CheckConfigError(f"[tool.tidyllm.check.allow] unknown rule id {rule!r}")
        allow[rule] = _str_list(modules, f"allow.{rule}")
    disable = frozenset(_str_list(section.get("disable", []), "disable"))
    if disable - set(RULES):
        raise CheckConfigError(f"disable: unknown rule ids {sorted(disable - set(RULES))}")
    builtin_allow = section.get("builtin-allow", True)
    if not isinstance(builtin_allow, bool):
        raise CheckConfigError("[tool.tidyllm.check] builtin-allow must be true or false")
    baseline = section.get("baseline")
    if baseline is not None and not isinstance(baseline, str):
        raise CheckConfigError("[tool.tidyllm.check] baseline must be a path string")
    return CheckConfig(
        root=root,
        allow=allow,
        exclude=_str_list(section.get("exclude", []), "exclude"),
        baseline=root / baseline if baseline else None,
        legacy_names=LEGACY_NAMES | frozenset(_str_list(section.get("legacy-names", []), "x")),
        disable=disable,
        builtin_allow=LEGACY_OFFICIAL_MODULES if builtin_allow else (),
    )
