"""Citations out and in: a collection as BibTeX or CSL-JSON, and a ``.bib`` file imported.

Export (:func:`export_collection`) writes each document's merged metadata. BibTeX values
are UTF-8 with the characters BibTeX or LaTeX give a meaning escaped (``\\{``,
``\\}``, ``\\&``, ``\\%``, ``\\$``, ``\\#``, ``\\_``, ``\\textbackslash{}``,
``\\textasciitilde{}``, ``\\textasciicircum{}``), so any value survives; free fields are
written under their own names, and the entry type and citation key are kept in the
free fields ``bibtex_type`` / ``bibtex_key`` when they came from a ``.bib`` file. An
export imported again gives back every field (tests prove the round trip).

Import (:func:`import_bibtex`) parses with bibtexparser 2; an entry bibtexparser cannot
parse (unbalanced braces, ...) is reported with its line and skipped, the others are
imported. Values are decoded (the escapes above, accent macros such as ``{\\"o}``,
protective braces) and bounded by :mod:`tidyllm.knowledge.metadata` (a 10 MB abstract is
cut, 10,000 authors become the first 500). ``file = {...}`` (a path, or JabRef/Zotero's
``description:path:type`` list) names attachments: a file inside the ``.bib``'s folder is
ingested; a path that leaves that folder is refused and reported.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tidyllm.access.actor import Actor
from tidyllm.knowledge import dedup
from tidyllm.knowledge.domains import get_domain
from tidyllm.knowledge.metadata import MAX_AUTHORS, MetadataError, read_metadata
from tidyllm.knowledge.papers import (
    FileOutcome,
    PaperImportError,
    add_member,
    collection_name,
    ensure_collection,
    identity_uris,
    ingest_files,
    merge_written,
    paper_document,
    title_and_text,
    write_fetched,
)

FORMATS = ("bibtex", "csl-json")
MAX_BIB_BYTES = 50 * 1024 * 1024
_ESCAPES = {
    "\\": r"\textbackslash{}",
    "{": r"\{",
    "}": r"\}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}
_ESCAPE_RE = re.compile("|".join(re.escape(c) for c in _ESCAPES))
_DECODE_RE = re.compile(
    r"\\textbackslash\{\}|\\textasciitilde\{\}|\\textasciicircum\{\}|\\[{}&%$#_]"
    r"|\{?\\([\"'`^~=.uvcHk])\s*\{?([A-Za-z]|\\[ij])\}?\}?"
    r"|\\(ss|ae|AE|oe|OE|aa|AA|o|O|l|L)\b\{?\}?"
)
_ACCENTS = {
    '"': "\u0308",
    "'": "\u0301",
    "`": "\u0300",
    "^": "\u0302",
    "~": "\u0303",
    "=": "\u0304",
    ".": "\u0307",
    "u": "\u0306",
    "v": "\u030c",
    "c": "\u0327",
    "H": "\u030b",
    "k": "\u0328",
}
_LETTERS = {
    "ss": "ß",
    "ae": "æ",
    "AE": "Æ",
    "oe": "œ",
    "OE": "Œ",
    "aa": "å",
    "AA": "Å",
    "o": "ø",
    "O": "Ø",
    "l": "ł",
    "L": "Ł",
}
_CORE_BIB = {"title", "author", "year", "date", "doi", "eprint", "url", "isbn", "abstract"}
_CORE_BIB |= {"keywords", "note", "archiveprefix", "file"}


class BibtexError(PaperImportError):
    """A .bib file that cannot be read at all (too large, not text, not found)."""


def escape(value: str) -> str:
    """A value as BibTeX text that reads back exactly (see the module's list)."""
    return _ESCAPE_RE.sub(lambda m: _ESCAPES[m.group(0)], value)


def _decode_match(m: re.Match[str]) -> str:
    text = m.group(0)
    if text == r"\textbackslash{}":
        return "\\"
    if text == r"\textasciitilde{}":
        return "~"
    if text == r"\textasciicircum{}":
        return "^"
    if m.group(1):
        base = {r"\i": "i", r"\j": "j"}.get(m.group(2), m.group(2))
        return unicodedata.normalize("NFC", base + _ACCENTS[m.group(1)])
    if m.group(3):
        return _LETTERS[m.group(3)]
    return text[1]  # \{ \} \& ...


def decode(value: str) -> str:
    """BibTeX text as plain text: escapes and accents decoded, protective braces dropped."""
    out = []
    pos = 0
    for m in _DECODE_RE.finditer(value):
        out.append(value[pos : m.start()].replace("{", "").replace("}", ""))
        out.append(_decode_match(m))
        pos = m.end()
    out.append(value[pos:].replace("{", "").replace("}", ""))
    return "".join(out)


def split_authors(value: str, limit: int = MAX_AUTHORS) -> list[str]:
    """``A and B and {C, Inc.}`` -> names ("Family, Given" as "Given Family"); bounded."""
    names: list[str] = []
    depth = 0
    start = 0
    i = 0
    lowered = value.lower()
    while i < len(value) and len(names) < limit:
        c = value[i]
        if c == "{":
            depth += 1
        elif c == "}":
            depth = max(0, depth - 1)
        elif depth == 0 and lowered.startswith(" and ", i):
            names.append(value[start:i])
            start = i + 5
            i += 5
            continue
        i += 1
    if len(names) < limit:
        names.append(value[start:])
    out = []
    for raw in names:
        raw = raw.strip()
        if raw.startswith("{") and raw.endswith("}") and _balanced(raw[1:-1]):
            out.append(decode(raw[1:-1]).strip())  # a literal name, kept as written
        elif "," in raw:
            family, _, given = raw.partition(",")
            out.append(f"{decode(given).strip()} {decode(family).strip()}".strip())
        else:
            out.append(decode(raw).strip())
    return [n for n in out if n]


def _balanced(text: str) -> bool:
    depth = 0
    for c in text:
        depth += (c == "{") - (c == "}")
        if depth < 0:
            return False
    return depth == 0


# --- export -----------------------------------------------------------------------------------


def _collection_documents(conn: Any, collection_id: int) -> list[int]:
    rows = conn.execute(
        "SELECT document_id FROM collection_documents WHERE collection_id = %s "
        "ORDER BY document_id",
        (collection_id,),
    )
    return [r[0] for r in rows]


def _cite_key(meta: Any, taken: set[str]) -> str:
    key = meta.fields.get("bibtex_key")
    if not key:
        family = meta.authors[0].split()[-1] if meta.authors else "anon"
        word = next((w for w in re.findall(r"[A-Za-z]{4,}", meta.title or "")), "doc")
        key = f"{family}{meta.year or ''}{word}"
        key = unicodedata.normalize("NFKD", key).encode("ascii", "ignore").decode().lower()
        key = re.sub(r"[^a-z0-9]", "", key) or f"doc{meta.document_id}"
    base, n = key, 1
    while key in taken:
        n += 1
        key = f"{base}{chr(ord('a') + n - 2)}" if n <= 27 else f"{base}-{n}"
    taken.add(key)
    return key


def _author_field(names: tuple[str, ...]) -> str:
    out = []
    for name in names:
        text = escape(name)
        out.append("{" + text + "}" if "," in name or " and " in name.lower() else text)
    return " and ".join(out)


def _bib_entry(meta: Any, key: str) -> tuple[str, dict[str, str]]:
    kind = meta.fields.get("bibtex_type") or ("article" if meta.fields.get("journal") else "misc")
    values: dict[str, str] = {}
    if meta.title:
        values["title"] = meta.title
    if meta.year:
        values["year"] = str(meta.year)
    for name, attr in (("date", "date"), ("doi", "doi"), ("url", "url"), ("isbn", "isbn")):
        if getattr(meta, attr):
            values[name] = getattr(meta, attr)
    if meta.arxiv_id:
        values["eprint"] = meta.arxiv_id
        values["archiveprefix"] = "arXiv"
    if meta.abstract:
        values["abstract"] = meta.abstract
    if meta.tags:
        values["keywords"] = ", ".join(meta.tags)
    if meta.notes:
        values["note"] = meta.notes
    for name, value in sorted(meta.fields.items()):
        if name in ("bibtex_type", "bibtex_key") or name.lower() in _CORE_BIB:
            continue
        values[name] = value
    escaped = {k: escape(v) for k, v in values.items()}
    if meta.authors:
        escaped = {"author": _author_field(meta.authors), **escaped}
    return kind, escaped


def to_bibtex(metas: list[Any]) -> str:
    """BibTeX text of these documents' metadata (bibtexparser 2 writes it)."""
    import bibtexparser
    from bibtexparser.model import Entry, Field

    library = bibtexparser.Library()
    taken: set[str] = set()
    for meta in metas:
        key = _cite_key(meta, taken)
        kind, values = _bib_entry(meta, key)
        library.add(Entry(kind, key, [Field(k, v) for k, v in values.items()]))
    return bibtexparser.write_string(library)


def _csl_name(name: str) -> dict[str, str]:
    if "," in name:
        family, _, given = name.partition(",")
        return {"family": family.strip(), "given": given.strip()}
    parts = name.rsplit(" ", 1)
    if len(parts) == 2 and parts[0] and parts[1]:
        return {"given": parts[0], "family": parts[1]}
    return {"literal": name}


def to_csl_json(metas: list[Any]) -> str:
    """CSL-JSON (the citation-style language's input format) of these documents."""
    taken: set[str] = set()
    items = []
    types = {"article": "article-journal", "book": "book", "inproceedings": "paper-conference"}
    for meta in metas:
        key = _cite_key(meta, taken)
        bib_type = meta.fields.get("bibtex_type", "")
        kind = types.get(bib_type) or ("article-journal" if meta.fields.get("journal") else None)
        item: dict[str, Any] = {
            "id": key,
            "type": kind or ("article" if meta.arxiv_id else "document"),
        }
        if meta.title:
            item["title"] = meta.title
        if meta.authors:
            item["author"] = [_csl_name(a) for a in meta.authors]
        if meta.date and re.match(r"^\d{4}(-\d{2}(-\d{2})?)?$", meta.date):
            item["issued"] = {"date-parts": [[int(p) for p in meta.date.split("-")]]}
        elif meta.year:
            item["issued"] = {"date-parts": [[meta.year]]}
        for name, value in (
            ("DOI", meta.doi),
            ("URL", meta.url),
            ("ISBN", meta.isbn),
            ("abstract", meta.abstract),
            ("note", meta.notes),
        ):
            if value:
                item[name] = value
        if meta.arxiv_id:
            item["number"] = f"arXiv:{meta.arxiv_id}"
            item.setdefault("publisher", "arXiv")
        if meta.tags:
            item["keyword"] = ", ".join(meta.tags)
        for name, csl in (
            ("journal", "container-title"),
            ("volume", "volume"),
            ("number", "issue"),
            ("pages", "page"),
            ("publisher", "publisher"),
        ):
            if meta.fields.get(name):
                item[csl] = meta.fields[name]
        items.append(item)
    return json.dumps(items, ensure_ascii=False, indent=2) + "\n"


def export_collection(
    sm: Any,
    collection: str,
    fmt: str,
    *,
    domain: str | None = None,
    actor: Actor | None = None,
) -> str:
    """The collection's documents as ``bibtex`` or ``csl-json`` text.

    ``domain`` is needed only when the collection's name is used in several domains.
    """
    from tidyllm.knowledge.collections import find_collection

    if fmt not in FORMATS:
        raise PaperImportError(
            f"unknown export format {fmt!r}", code="bad_format", hint=f"one of {', '.join(FORMATS)}"
        )
    with sm.connection() as conn:
        found, _ = find_collection(conn, collection, domain=domain, actor=actor)
        ids = _collection_documents(conn, found.id)
        metas = [read_metadata(conn, i) for i in ids]
    return to_bibtex(metas) if fmt == "bibtex" else to_csl_json(metas)


# --- import -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class BibEntry:
    """One imported entry: its key, document, status and attached files."""

    key: str
    document_id: int | None
    status: str  # added, updated, unchanged, failed
    title: str | None = None
    files: tuple[str, ...] = ()
    problem: str | None = None


@dataclass
class BibReport:
    entries: list[BibEntry] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # failed blocks, refused paths

    def count(self, status: str) -> int:
        return sum(1 for e in self.entries if e.status == status)


def entry_values(entry: Any) -> dict[str, Any]:
    """The metadata fields of a parsed BibTeX entry (values decoded and bounded)."""
    raw = {f.key.lower(): (f.key, f.value) for f in entry.fields}

    def text(name: str) -> str | None:
        if name not in raw or not isinstance(raw[name][1], str):
            return None
        return decode(raw[name][1][:200_000]) or None

    values: dict[str, Any] = {}
    if text("title"):
        values["title"] = text("title")
    if "author" in raw and isinstance(raw["author"][1], str):
        values["authors"] = split_authors(raw["author"][1])
    year = text("year")
    if year and year.strip().isdigit() and len(year.strip()) == 4:
        values["year"] = int(year.strip())
    for name, target in (
        ("date", "date"),
        ("doi", "doi"),
        ("url", "url"),
        ("isbn", "isbn"),
        ("abstract", "abstract"),
        ("note", "notes"),
    ):
        if text(name):
            values[target] = text(name)
    if text("eprint"):
        values["arxiv_id"] = text("eprint")
    if text("keywords"):
        values["tags"] = [t.strip() for t in re.split(r"[,;]", text("keywords") or "") if t.strip()]
    free: dict[str, str] = {"bibtex_type": entry.entry_type.lower(), "bibtex_key": entry.key}
    for low, (key, value) in raw.items():
        if low in _CORE_BIB or not isinstance(value, str):
            continue
        name = key if re.match(r"^[A-Za-z][A-Za-z0-9_.-]{0,63}$", key) else None
        if name is not None and len(free) < 100:
            free[name] = decode(value[:20_000])
    values["fields"] = free
    return values


def attached_files(value: str, folder: Path) -> tuple[list[Path], list[str]]:
    """Files named by a ``file`` field inside ``folder``, and the refused ones (with why)."""
    found: list[Path] = []
    refused: list[str] = []
    base = folder.resolve()
    for part in re.split(r"(?<!\\);", value):
        part = part.strip()
        if not part:
            continue
        pieces = re.split(r"(?<!\\):", part)
        # JabRef / Zotero write description:path:type
        path_text = ":".join(pieces[1:-1]) if len(pieces) >= 3 else part
        path_text = path_text.replace("\\:", ":").replace("\\;", ";").replace("\\\\", "\\")
        path = Path(path_text)
        resolved = (base / path).resolve() if not path.is_absolute() else path.resolve()
        if not resolved.is_relative_to(base):
            refused.append(f"{path_text[:200]!r} is outside the .bib file's folder; refused")
        elif not resolved.is_file():
            refused.append(f"{path_text[:200]!r} does not exist")
        else:
            found.append(resolved)
    return found, refused


def import_bibtex(
    sm: Any,
    domain: str,
    bib: str | Path,
    *,
    collection: str | None = None,
    actor: Actor | None = None,
    progress: Callable[[BibEntry], None] | None = None,
) -> BibReport:
    """Import every entry of a ``.bib`` file into ``domain`` (see the module's notes)."""
    import bibtexparser

    path = Path(bib).expanduser()
    if not path.is_file():
        raise BibtexError(f"{str(path)!r} is not a file", code="not_found")
    if path.stat().st_size > MAX_BIB_BYTES:
        raise BibtexError(
            f"{path.name} is larger than {MAX_BIB_BYTES // (1024 * 1024)} MB", code="too_large"
        )
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BibtexError(
            f"{path.name} is not UTF-8 text ({exc.reason} at byte {exc.start})",
            code="not_text",
            hint="save it as UTF-8 (Zotero and JabRef both can)",
        ) from None
    if collection is not None:
        collection = collection_name(collection)
    with sm.connection() as conn:
        get_domain(conn, domain, actor=actor, need="editor")
    library = bibtexparser.parse_string(text)
    report = BibReport()
    for block in library.failed_blocks:
        line = getattr(block, "start_line", None)
        where = f"line {line + 1}" if isinstance(line, int) else "an entry"
        error = getattr(block, "error", None)
        report.problems.append(
            f"{where}: cannot be parsed ({type(error).__name__ if error else 'syntax'}); "
            "check its braces and quotes; skipped"
        )
    if library.failed_blocks and not library.entries:
        raise BibtexError(
            f"{path.name}: no entry could be parsed ({report.problems[0]})", code="malformed"
        )
    folder = path.parent
    files_of: dict[str, list[Path]] = {}
    for entry in library.entries:
        file_field = next((f.value for f in entry.fields if f.key.lower() == "file"), None)
        if isinstance(file_field, str):
            found, refused = attached_files(file_field, folder)
            files_of[entry.key] = found
            report.problems += [f"{entry.key}: {r}" for r in refused]
    all_files = sorted({p for ps in files_of.values() for p in ps})
    outcomes = ingest_files(sm, domain, all_files, actor=actor)
    for entry in library.entries:
        result = _store_entry(sm, domain, entry, files_of.get(entry.key, []), outcomes, collection)
        report.entries.append(result)
        if result.problem:
            report.problems.append(f"{entry.key}: {result.problem}")
        if progress is not None:
            progress(result)
    return report


def _store_entry(
    sm: Any,
    domain: str,
    entry: Any,
    files: list[Path],
    outcomes: Mapping[str, FileOutcome],
    collection: str | None,
) -> BibEntry:
    try:
        values = entry_values(entry)
    except MetadataError as exc:
        return BibEntry(entry.key, None, "failed", problem=str(exc))
    docs = []
    problem = None
    for p in files:
        outcome = outcomes.get(p.as_uri())
        if outcome is not None and outcome.document_id is not None:
            docs.append(outcome.document_id)
        else:
            problem = f"{p.name} could not be indexed: {outcome.error if outcome else 'not run'}"
    try:
        with sm.connection() as conn, conn.transaction():
            dom = get_domain(conn, domain)
            dedup.lock_domain(conn, dom.id)  # before any document row (dedup's lock order)
            created = False
            targets = list(dict.fromkeys(docs))
            uris = [*identity_uris(values), f"bibtex:{entry.key}"]
            for doc in targets:
                dedup.absorb_records(conn, dom.id, doc, values, uris)
            if not targets:
                found, created = paper_document(conn, dom, values, uris[0], "bibtex")
                targets = [found]
            changed = False
            for doc in targets:
                changed = write_fetched(conn, doc, values) or changed
            if len(targets) == 1:  # several files of one entry stay several documents
                merged, changed = merge_written(conn, targets[0], changed)
                targets = [merged]
            for doc in targets:
                if collection:
                    cid, _ = ensure_collection(conn, dom, collection)
                    changed = add_member(conn, cid, doc) or changed
            if any(o.state == "done" for o in outcomes.values() if o.document_id in targets):
                created = True
            title, has_file = title_and_text(conn, targets[0])
    except MetadataError as exc:
        return BibEntry(entry.key, None, "failed", problem=str(exc))
    status = "added" if created else ("updated" if changed else "unchanged")
    shown = tuple(str(p) for p in files) if has_file else ()
    return BibEntry(entry.key, targets[0], status, title, shown, problem)
