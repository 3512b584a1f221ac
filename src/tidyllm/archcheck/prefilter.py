"""A text pre-filter: which files cannot produce a finding, derived from the rule tables.

A finding needs text: a call into a banned module imports it (``import
boto3``, ``from psycopg2 import connect``; ``importlib``/``__import__`` for a
dynamic import; a backslash continuation makes the file hot), a credential
read spells the credential's name, a secret or an ``s3://`` URL spells what
the regexes in :mod:`tidyllm.archcheck.rules` match, a legacy manager spells
its name, a suppression spells ``tidyllm:``. The needles are computed from
those tables when this module is imported (regexes are read with the
standard library's regex parser, so a new alternative in a pattern is a new
needle); a file whose lower-cased text (NFKC-normalised when not ASCII)
contains none of them is *cold*: it is only checked for syntax. A file with
escape sequences (``\\x41``) is always *hot*, since its string values are not
its text.

Re-exports are the one way a file can reach a banned API without spelling it
(``from app.aws import make_client``). The checker handles them exactly: after
the hot files are scanned, every name those modules bind to a banned API (or
to a prefix of one) is a needle too, cold files spelling one are scanned,
until nothing changes; and a cold module met while resolving a chain is
scanned on demand.

Fail-safe: every public table of :mod:`rules` must be classified in
``_TABLES`` below; an unknown one (a new kind of rule) switches the
pre-filter off (every file is scanned) until it is classified, and
``tests/archcheck`` fails on it.
"""

from __future__ import annotations

import re
import unicodedata
from itertools import product

try:  # the standard library's regex parser (Python 3.11+)
    from re import _constants as _sre_constants
    from re import _parser as _sre_parse
except ImportError:  # pragma: no cover - older layouts
    import sre_constants as _sre_constants
    import sre_parse as _sre_parse

from tidyllm.archcheck import rules

# How each public table of ``rules`` contributes needles:
#   "roots"   - qualified names: the root module (or builtin) must be spelled
#   "names"   - the strings themselves must be spelled (exact names)
#   "regex"   - a pattern: literals every match contains
#   "none"    - metadata, or only refines a finding another table needs
_TABLES: dict[str, str] = {
    "RULES": "none",
    "Rule": "none",
    "CALL_RULES": "roots",
    "ENGINE_CALLS": "roots",
    "CLIENT_FACTORIES": "roots",
    "DYNAMIC_IMPORTERS": "roots",
    "POSTGRES_URL_RE": "none",  # only refines ENGINE_CALLS
    "BEDROCK_SERVICES": "none",  # only refines CLIENT_FACTORIES
    "S3_URL_MODULES": "none",  # needs S3_URL_RE
    "S3_URL_METHODS": "none",  # needs S3_URL_RE
    "S3_URL_RE": "regex",
    "CREDENTIAL_ENV_VARS": "names",
    "CREDENTIAL_ENV_SUFFIX_RE": "regex",
    "ENV_READ_FUNCS": "none",  # a finding needs a credential name (the two above)
    "ENV_MAPPINGS": "none",  # idem
    "AWS_KEY_ID_RE": "regex",
    "DSN_PASSWORD_RE": "regex",
    "SECRET_NAME_RE": "regex",
    "PLACEHOLDER_RE": "none",  # only removes findings
    "LEGACY_NAMES": "names",
    # TL403, TL406, TL602 and the secret allow-lists
    "MODULE_STATE_RULES": "roots",
    "HTTP_CALLS": "roots",
    "LLM_HOST_RE": "none",  # only refines HTTP_CALLS
    "KNOWN_EXAMPLE_SECRETS": "none",  # only removes findings
    "REGEX_LIKE_RE": "none",  # only removes findings
    "LEGACY_OFFICIAL_MODULES": "names",
    "LEGACY_OFFICIAL_NAMES": "none",  # only refines LEGACY_OFFICIAL_MODULES
}
# Tables whose qualified names a re-exporting module can hand to a cold file.
ROOT_TABLES = tuple(name for name, kind in _TABLES.items() if kind == "roots")
SUPPRESSION_NEEDLE = "tidyllm:"
_ESCAPES = re.compile(rb"\\(?:[xuUN0-7]|\r?\n)")
_MAX_SET = 256


def unknown_tables() -> list[str]:
    """Public tables of ``rules`` this module does not know how to turn into needles."""
    return sorted(
        name
        for name in vars(rules)
        if name[:1].isupper() and name not in _TABLES and not name.startswith("_")
    )


def _exact(items: list) -> set[str] | None:
    """All strings a regex sequence can match, if it is a small finite set."""
    out = {""}
    for op, av in items:
        if op is _sre_constants.LITERAL:
            choices = {chr(av)}
        elif op is _sre_constants.AT:
            continue
        elif op is _sre_constants.IN:
            if not all(o is _sre_constants.LITERAL for o, _ in av):
                return None
            choices = {chr(a) for _, a in av}
        elif op is _sre_constants.SUBPATTERN:
            choices = _exact(list(av[-1]))
        elif op is _sre_constants.BRANCH:
            choices = set()
            for alt in av[1]:
                sub = _exact(list(alt))
                if sub is None:
                    return None
                choices |= sub
        elif op in (_sre_constants.MAX_REPEAT, _sre_constants.MIN_REPEAT) and av[1] <= 1:
            sub = _exact(list(av[2]))
            if sub is None:
                return None
            choices = sub | ({""} if av[0] == 0 else set())
        else:
            return None
        if choices is None:
            return None
        out = {a + b for a, b in product(out, choices)}
        if len(out) > _MAX_SET:
            return None
    return out


def _required(items: list) -> list[set[str]]:
    """Sets of literals; every match contains one literal of each set (a conjunction)."""
    found: list[set[str]] = []
    run: list = []

    def flush() -> None:
        if run:
            exact = _exact(run)
            if exact and "" not in exact:
                found.append(exact)
            run.clear()

    for op, av in items:
        exact = _exact([(op, av)])
        if exact is not None and "" not in exact:
            run.append((op, av))
            continue
        if op is _sre_constants.AT:
            continue
        flush()
        if op is _sre_constants.SUBPATTERN:
            found.extend(_required(list(av[-1])))
        elif op is _sre_constants.BRANCH:
            union: set[str] = set()
            for alt in av[1]:
                best = _best(_required(list(alt)))
                if best is None:
                    union = set()
                    break
                union |= best
            if union:
                found.append(union)
        elif op in (_sre_constants.MAX_REPEAT, _sre_constants.MIN_REPEAT) and av[0] >= 1:
            found.extend(_required(list(av[2])))
    flush()
    return found


def _best(sets: list[set[str]]) -> set[str] | None:
    if not sets:
        return None
    return max(sets, key=lambda s: min(len(x) for x in s))


def regex_needles(pattern: re.Pattern[str]) -> list[set[str]]:
    """Lower-cased literal sets every match of ``pattern`` contains (one of each set)."""
    parsed = _sre_parse.parse(pattern.pattern, pattern.flags)
    sets = [{s.lower() for s in group} for group in _required(list(parsed))]
    if not sets:
        raise ValueError(f"no literal is required by {pattern.pattern!r}")
    return sets


def banned_prefixes() -> frozenset[str]:
    """Every qualified name in a "roots" table, and every dotted prefix of one."""
    out: set[str] = set()
    for name in ROOT_TABLES:
        for qualname in getattr(rules, name, ()):
            parts = str(qualname).split(".")
            out.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))
    return frozenset(out)


def _roots(names: object) -> set[str]:
    return {str(name).split(".")[0].lower() for name in names}  # type: ignore[attr-defined]


class Needles:
    """The static needles (any one makes a file hot) plus the regexes' conjunctions."""

    def __init__(self, legacy_names: frozenset[str]) -> None:
        self.enabled = not unknown_tables()
        words: set[str] = {SUPPRESSION_NEEDLE}
        roots: set[str] = set()
        conjunctions: list[list[set[str]]] = []
        for name, kind in _TABLES.items():
            table = getattr(rules, name, None)
            if table is None or kind == "none":
                continue
            if kind == "roots":
                roots |= _roots(table)
            elif kind == "names":
                words |= {str(n).rpartition(".")[2].lower() for n in table}
            elif kind == "regex":
                conjunctions.append(regex_needles(table))
        words |= {n.lower() for n in legacy_names}
        # A module is reached by importing it: `import x`, `import a, x.y as z`,
        # `from x... import`; builtins and dynamic imports (`__import__`,
        # `importlib`) are plain words. A comment or docstring that merely names
        # boto3 does not make a file hot.
        modules = sorted(r for r in roots if not r.startswith("__"))
        words |= {r for r in roots if r.startswith("__")} | {"importlib"} & roots
        self.words = tuple(sorted(words))
        self.imports = re.compile(
            r"\b(?:import|from)\b[^\n;#]*?\b(?:" + "|".join(map(re.escape, modules)) + r")\b"
        )
        self.conjunctions = conjunctions

    def is_hot(self, data: bytes) -> bool:
        """Whether ``data`` (a file's bytes) may hold a finding and must be scanned."""
        if not self.enabled or _ESCAPES.search(data):
            return True
        text = lowered(data)
        if text is None:
            return True
        if any(w in text for w in self.words) or self.imports.search(text):
            return True
        return any(
            all(any(s in text for s in group) for group in conj) for conj in self.conjunctions
        )


def lowered(data: bytes) -> str | None:
    """The text of a file, lower-cased and NFKC-normalised (as identifiers are); None if odd."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None  # other encodings: scan it
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)
    return text.lower()


def contains_any(data: bytes, names: set[str]) -> bool:
    """Whether a file's text spells any of ``names`` (lower-cased)."""
    text = lowered(data)
    return text is None or any(n in text for n in names)
