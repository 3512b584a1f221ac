"""``check()``: find every call site that bypasses the session manager.

Two phases: each file is read and parsed once (optionally in worker
processes) into a :class:`FileScan`; then every raw site is resolved against
all scans together (so re-exports through local modules are seen) and judged
against the rule table, the allow-lists and the inline suppressions. A file
that cannot be read or parsed becomes a TL000 finding, never an exception.
"""

from __future__ import annotations

import gc
import hashlib
import importlib.util
import os
import symtable
import warnings
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from tidyllm.archcheck import rules
from tidyllm.archcheck.config import CheckConfig
from tidyllm.archcheck.findings import Finding
from tidyllm.archcheck.prefilter import Needles, banned_prefixes, contains_any
from tidyllm.archcheck.resolver import Resolver, module_name
from tidyllm.archcheck.scanner import FileScan, Site, scan_source
from tidyllm.archcheck.suppress import Suppressions, parse_suppressions
from tidyllm.errors import CheckConfigError

_PARALLEL_MIN_FILES = 200


@dataclass(slots=True)
class _FileResult:
    path: str
    scan: FileScan | None = None
    module: str = ""
    cold: bool = False  # pre-filtered: valid syntax, no needle, not scanned (yet)
    error: tuple[int, int, str] | None = None
    suppressions: Suppressions = field(default_factory=Suppressions)


@dataclass(slots=True)
class CheckResult:
    """What a run found. ``findings`` excludes suppressed and baselined ones."""

    findings: list[Finding]
    files_checked: int
    suppressed: int = 0
    baselined: int = 0
    stale_baseline: int = 0


def iter_python_files(paths: Iterable[Path], config: CheckConfig) -> Iterator[Path]:
    """Every ``.py`` file under ``paths``, minus excludes, in a stable order."""
    for path in paths:
        if not path.exists():
            raise CheckConfigError(f"path does not exist: {path}")
        if path.is_file():
            if not config.is_excluded(path):
                yield path
            continue
        for folder, dirs, files in os.walk(path):
            base = Path(folder)
            dirs[:] = sorted(d for d in dirs if not config.is_excluded(base / d))
            for name in sorted(files):
                if name.endswith(".py") and not config.is_excluded(base / name):
                    yield base / name


def _scan_file(path: str, legacy_names: frozenset[str], prefilter: bool = False) -> _FileResult:
    result = _FileResult(path=path)
    try:
        data = Path(path).read_bytes()
        module, is_package = module_name(Path(path))
        result.module = module
        if prefilter and _is_cold(data, path, legacy_names):
            result.cold = True
            return result
        result.scan = scan_source(data, path, module, is_package, legacy_names)
        if b"tidyllm:" in data:
            result.suppressions = parse_suppressions(importlib.util.decode_source(data))
    except SyntaxError as exc:
        line = exc.lineno or 1
        result.error = (line, max((exc.offset or 1) - 1, 0), f"syntax error: {exc.msg}")
    except (OSError, UnicodeDecodeError, ValueError, RecursionError, MemoryError) as exc:
        result.error = (1, 0, f"cannot parse: {type(exc).__name__}: {exc}")
    return result


_is_credential = rules.is_credential_env


def judge_site(
    site: Site, candidates: list[str], legacy_names: frozenset[str]
) -> tuple[str, str] | None:
    """The (rule, message) a resolved site violates, or None."""
    for qualname in candidates:
        last = qualname.rpartition(".")[2]
        if site.kind == "call":
            if qualname in rules.CLIENT_FACTORIES and site.arg0 in rules.BEDROCK_SERVICES:
                return "TL402", f"`{qualname}('{site.arg0}')` creates a Bedrock client"
            rule = rules.CALL_RULES.get(qualname)
            if rule is not None:
                return rule, f"`{qualname}()`: {rules.RULES[rule].title}"
            if qualname in rules.ENGINE_CALLS:
                if site.arg0 and rules.POSTGRES_URL_RE.match(site.arg0):
                    return "TL202", f"`{qualname}()` with a PostgreSQL URL"
                continue
            if qualname in rules.ENV_READ_FUNCS and _is_credential(site.arg0):
                return "TL501", f"`{qualname}('{site.arg0}')` reads a credential directly"
            if qualname in rules.HTTP_CALLS and site.arg0 and rules.LLM_HOST_RE.match(site.arg0):
                return "TL406", f"`{qualname}()` calls an LLM provider's API directly"
            if site.s3_arg and (
                qualname.startswith(rules.S3_URL_MODULES) or last in rules.S3_URL_METHODS
            ):
                return "TL102", f"`{qualname}()` reads or writes an s3:// URL directly"
        elif site.kind == "subscript":
            if qualname in rules.ENV_MAPPINGS and _is_credential(site.arg0):
                return "TL501", f"`{qualname}['{site.arg0}']` reads a credential directly"
        elif site.kind == "store":
            if qualname in rules.MODULE_STATE_RULES:
                return rules.MODULE_STATE_RULES[qualname], f"`{qualname} = ...` sets global state"
        elif site.kind == "import" and rules.is_legacy_official_import(qualname):
            return "TL602", f"`{qualname}`: import it from tidyllm"
        elif last in legacy_names:
            return "TL601", f"`{qualname}` is a legacy manager"
    if (
        not candidates
        and site.kind == "call"
        and site.s3_arg
        and site.chain.rpartition(".")[2] in rules.S3_URL_METHODS
    ):
        method = site.chain.rpartition(".")[2]
        return "TL102", f"`.{method}()` reads or writes an s3:// URL directly"
    return None


def _fingerprint(rule: str, path: str, line_text: str, occurrence: int) -> str:
    raw = f"{rule}\0{path}\0{' '.join(line_text.split())}\0{occurrence}"
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()[:20]


def _source_lines(path: str) -> list[str]:
    try:
        return importlib.util.decode_source(Path(path).read_bytes()).splitlines()
    except (OSError, UnicodeDecodeError, SyntaxError, ValueError):
        return []


def _display(path: Path) -> str:
    try:
        return path.absolute().relative_to(Path.cwd()).as_posix()
    except ValueError:
        return path.as_posix()


def _scan_all(
    files: list[str], config: CheckConfig, jobs: int, prefilter: bool = False
) -> list[_FileResult]:
    if jobs == 0:
        jobs = os.cpu_count() or 1
    legacy = config.legacy_names
    if jobs > 1 and len(files) >= _PARALLEL_MIN_FILES:
        chunk = max(1, len(files) // (jobs * 4))
        with ProcessPoolExecutor(max_workers=jobs, initializer=gc.disable) as pool:
            n = len(files)
            return list(pool.map(_scan_file, files, [legacy] * n, [prefilter] * n, chunksize=chunk))
    with _gc_paused():
        return [_scan_file(f, legacy, prefilter) for f in files]


def check(
    paths: Iterable[Path],
    config: CheckConfig | None = None,
    jobs: int = 1,
    prefilter: bool = True,
) -> CheckResult:
    """Check every Python file under ``paths``; ``jobs=0`` uses every CPU for big trees.

    ``prefilter`` skips the scan of files whose text cannot match any rule
    (see :mod:`tidyllm.archcheck.prefilter`); the findings are the same
    either way. Raises :class:`CheckConfigError` for a path that does not exist.
    """
    config = config or CheckConfig()
    files = [_display(p) for p in iter_python_files(paths, config)]
    results = _scan_all(files, config, jobs, prefilter and _needles(config.legacy_names).enabled)
    resolver = _resolve_with_prefilter(results, config.legacy_names)
    findings: list[Finding] = []
    suppressed = 0
    for res in results:
        raw: list[tuple[int, int, str, str]] = []
        if res.error is not None:
            line, col, message = res.error
            raw.append((line, col, "TL000", message))
        if res.scan is not None:
            raw.extend(res.scan.direct)
            for site in res.scan.sites:
                verdict = judge_site(
                    site, resolver.resolve(res.scan, site.chain), config.legacy_names
                )
                if verdict is not None:
                    raw.append((site.line, site.col, *verdict))
            module = res.scan.module
            raw = [
                r for r in raw if r[2] not in config.disable and not config.is_allowed(module, r[2])
            ]
        for line, col in res.suppressions.missing_reason:
            raw.append((line, col, "TL001", "suppression needs a rule id and a reason"))
        kept = []
        for item in sorted(set(raw)):
            if item[2] not in ("TL000", "TL001") and res.suppressions.allows(item[0], item[2]):
                suppressed += 1
            else:
                kept.append(item)
        findings.extend(_to_findings(res.path, kept))
    return CheckResult(findings=findings, files_checked=len(results), suppressed=suppressed)


def _to_findings(path: str, items: list[tuple[int, int, str, str]]) -> list[Finding]:
    if not items:
        return []
    # One finding per (line, col, rule); keep the first message for duplicates.
    unique: dict[tuple[int, int, str], str] = {}
    for line, col, rule, message in items:
        unique.setdefault((line, col, rule), message)
    lines = _source_lines(path)
    seen: dict[tuple[str, str], int] = {}
    out = []
    for (line, col, rule), message in sorted(unique.items()):
        text = lines[line - 1] if 0 < line <= len(lines) else ""
        occurrence = seen.get((rule, text), 0)
        seen[(rule, text)] = occurrence + 1
        out.append(
            Finding(path, line, col, rule, message, _fingerprint(rule, path, text, occurrence))
        )
    return out


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Scanning allocates millions of acyclic AST nodes: the cycle collector only slows it."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@lru_cache(maxsize=8)
def _needles(legacy_names: frozenset[str]) -> Needles:
    return Needles(legacy_names)


def _is_cold(data: bytes, path: str, legacy_names: frozenset[str]) -> bool:
    """No needle and valid syntax (checked without building an AST: ``symtable``)."""
    if _needles(legacy_names).is_hot(data):
        return False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            symtable.symtable(importlib.util.decode_source(data), path, "exec")
    except Exception:  # any doubt: scan it, which reports it exactly
        return False
    return True


def _rescan(res: _FileResult, legacy_names: frozenset[str]) -> None:
    full = _scan_file(res.path, legacy_names)
    res.scan, res.error, res.suppressions, res.cold = (
        full.scan,
        full.error,
        full.suppressions,
        False,
    )


def _resolve_with_prefilter(results: list[_FileResult], legacy_names: frozenset[str]) -> Resolver:
    """The resolver over every scan; cold files are scanned when a chain or a needle needs them.

    The first file of a module name wins (as without the pre-filter). A cold
    module met while resolving is scanned on demand. Then every name a scanned
    module binds to a banned API (or to a prefix of one, such as ``boto3``; or
    to a legacy manager) is a needle: cold files spelling one are scanned,
    until nothing changes. A site reaching a banned API through a local module
    spells such a name, or the dangerous name itself after a module prefix
    (``helpers.make_client``), so it is never missed.
    """
    first: dict[str, _FileResult] = {}
    for res in results:
        module = res.scan.module if res.scan is not None else res.module
        if module:
            first.setdefault(module, res)
    scans = {m: r.scan for m, r in first.items() if r.scan is not None}

    def load(module: str) -> FileScan | None:
        res = first.get(module)
        if res is None or not res.cold:
            return None
        _rescan(res, legacy_names)
        if res.scan is not None:
            scans[module] = res.scan
        return res.scan

    resolver = Resolver(scans, load)
    cold = [r for r in results if r.cold]
    if not cold:
        return resolver
    banned = banned_prefixes()
    dangerous: set[str] = set()  # module.name qualnames that lead to a banned API
    names: set[str] = set()
    done: set[tuple[str, str]] = set()
    while True:
        changed = True
        while changed:
            changed = False
            known = len(scans)
            for module, scan in list(scans.items()):
                for name in scan.bindings:
                    if (module, name) in done:
                        continue
                    target = resolver.qualify(f"{module}.{name}")
                    if (
                        target in banned
                        or target in dangerous
                        or judge_site(Site("import", "!" + target, 0, 0), [target], legacy_names)
                    ):
                        done.add((module, name))
                        qual = f"{module}.{name}"
                        dangerous.add(qual)
                        names.add(name.lower())
                        changed = True
            changed = changed or len(scans) != known  # modules loaded on demand
        promoted = [r for r in cold if r.cold and _spells(r.path, names)]
        if not promoted:
            return resolver
        for res in promoted:
            _rescan(res, legacy_names)
            module = res.scan.module if res.scan is not None else res.module
            if res.scan is not None and first.get(module) is res:
                scans[module] = res.scan


def _spells(path: str, names: set[str]) -> bool:
    try:
        return contains_any(Path(path).read_bytes(), names)
    except OSError:
        return True


def check_source(source: str, module: str = "snippet", filename: str = "<snippet>") -> list[str]:
    """Rule ids found in one piece of source on its own (a convenience for docs and REPL use)."""
    try:
        scan = scan_source(source, filename, module, False)
    except SyntaxError:
        return ["TL000"]
    resolver = Resolver({module: scan})
    found = [r[2] for r in scan.direct]
    for site in scan.sites:
        verdict = judge_site(site, resolver.resolve(scan, site.chain), rules.LEGACY_NAMES)
        if verdict:
            found.append(verdict[0])
    return sorted(found)


__all__ = ["CheckResult", "check", "check_source", "iter_python_files", "judge_site"]
