"""Papers into a domain: arXiv and DOI imports, the legacy whitepapers folder, shared helpers.

What every import here does, whatever the source:

* metadata is written as the document's ``fetched`` layer (merged field by field into what
  an earlier import said), so a re-ingest of the file keeps it and an edit still wins;
* files go through the domain's ingest zone (:func:`tidyllm.knowledge.ingest.ingest`, or
  for a downloaded arXiv PDF the same zone under the key ``arxiv/<id>.pdf``: a later
  version of the paper is a new version of that key and replaces the old one through the
  ledger's versioning), so they are chunked, embedded and searchable like any other file;
* a paper without a file is a **metadata-only document**: a ``documents`` row with no
  chunks (``chunk_count`` 0, ``page_count`` 0, ``mime`` NULL, ``version`` ``metadata``,
  ``metadata`` ``{"kind": "metadata-only"}``) whose ``source_uri`` names the paper:
  ``doi:<doi>``, ``arxiv:<id>``, ``legacy:<paper id>`` or ``bibtex:<citation key>``
  (its ``content_hash`` is ``metadata-only:`` + the SHA-256 of that URI, so it never
  equals a file's). It has metadata, tags and collections, shows in lists and exports,
  and never in search results (it has no chunks). When the file arrives later through
  an import, the record is merged into the file's document in one transaction
  (:func:`tidyllm.knowledge.dedup.absorb_records`, the merge every "same paper" goes
  through: the file's document survives with the record's collections and values);
* a paper already in the domain (the same DOI or arXiv id, found by
  :func:`tidyllm.knowledge.dedup.find_same`, documents with text first) is updated, not
  duplicated;
* a repeat of the same import changes nothing (statuses ``unchanged``).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from psycopg.types.json import Jsonb

from tidyllm.access.actor import Actor
from tidyllm.errors import DropZoneError, KnowledgeError
from tidyllm.knowledge import dedup
from tidyllm.knowledge.domains import Domain, get_domain
from tidyllm.knowledge.metadata import (
    MetadataError,
    clean_text,
    normalise,
    read_layers,
    write_layer,
)
from tidyllm.knowledge.paper_sources import (
    PaperRef,
    PaperSourceError,
    download_arxiv_pdf,
    fetch_arxiv,
    fetch_crossref,
    parse_ref,
)

METADATA_ONLY = "metadata-only"
ARXIV_KEY_PREFIX = "arxiv/"
_COLLECTION_BAD = re.compile(r"[^A-Za-z0-9 ._-]+")


class PaperImportError(KnowledgeError):
    """An import that stored nothing for this paper (the reason in one line, and a hint)."""

    def __init__(self, message: str, *, code: str = "import_failed", hint: str = "") -> None:
        super().__init__(f"{message}; {hint}" if hint else message)  # the CLI's one line
        self.message = message
        self.code = code
        self.hint = hint


# --- documents without a file, identities, collections ----------------------------------------


def arxiv_base(arxiv_id: str) -> str:
    """The identifier without its version (``2410.11842v2`` -> ``2410.11842``)."""
    return re.sub(r"v\d+$", "", arxiv_id)


def identity_uris(values: Mapping[str, Any]) -> list[str]:
    """The URIs a metadata-only record of this paper may have: ``doi:``, ``arxiv:``."""
    uris = []
    if values.get("doi"):
        uris.append(f"doi:{str(values['doi']).lower()}")
    if values.get("arxiv_id"):
        uris.append(f"arxiv:{arxiv_base(str(values['arxiv_id']))}")
    return uris


def metadata_only_document(
    conn: Any, dom: Domain, source_uri: str, origin: str
) -> tuple[int, bool]:
    """The metadata-only document at ``source_uri``: (id, whether it was created now)."""
    digest = hashlib.sha256(source_uri.encode()).hexdigest()
    return _insert_or_find(
        conn,
        "INSERT INTO documents (domain_id, source_uri, version, content_hash, title, mime, "
        "metadata, page_count, chunk_count) VALUES (%s, %s, 'metadata', %s, NULL, NULL, %s, 0, 0) "
        "ON CONFLICT (domain_id, source_uri) DO NOTHING RETURNING id",
        (
            dom.id,
            source_uri,
            f"{METADATA_ONLY}:{digest}",
            Jsonb({"kind": METADATA_ONLY, "origin": origin}),
        ),
        "SELECT id FROM documents WHERE domain_id = %s AND source_uri = %s",
        (dom.id, source_uri),
    )


def _insert_or_find(
    conn: Any, insert: str, values: tuple, find: str, key: tuple
) -> tuple[int, bool]:
    """The id an ``INSERT ... ON CONFLICT DO NOTHING RETURNING id`` made (True), else the
    one ``find`` finds (False: it was there)."""
    row = conn.execute(insert, values).fetchone()
    if row is not None:
        return row[0], True
    return conn.execute(find, key).fetchone()[0], False


def paper_document(
    conn: Any, dom: Domain, values: Mapping[str, Any], uri: str, origin: str
) -> tuple[int, bool]:
    """The document of a paper that comes without a file: the domain's document with its
    DOI or arXiv id (:func:`tidyllm.knowledge.dedup.find_same`: files first), else the
    metadata-only record at ``uri`` (created when missing). (id, whether it was created)."""
    same = dedup.find_same(conn, dom.id, None, values)
    if same is not None:
        return same.document_id, False
    return metadata_only_document(conn, dom, uri, origin)


def merge_written(conn: Any, document_id: int, changed: bool) -> tuple[int, bool]:
    """After an import wrote a document's ``fetched`` layer: every other document of the
    domain with its DOI or arXiv id merges with it (:func:`tidyllm.knowledge.dedup.
    merge_same`). (The surviving document, whether anything changed.)"""
    merged = dedup.merge_same(conn, document_id)
    return (document_id, changed) if merged is None else (merged.kept, True)


def title_and_text(conn: Any, document_id: int) -> tuple[str | None, bool]:
    """A document's title and whether it has text (False: a metadata-only record)."""
    row = conn.execute(
        "SELECT title, chunk_count FROM documents WHERE id = %s", (document_id,)
    ).fetchone()
    return row[0], row[1] > 0


def collection_name(raw: str) -> str:
    """A legacy or BibTeX collection name made acceptable (``AI/ML`` -> ``AI-ML``)."""
    name = _COLLECTION_BAD.sub("-", clean_text(raw, 400)).strip(" .-_")[:128].strip()
    if not name:
        raise MetadataError(f"collection name {raw[:60]!r} has no usable characters")
    return name


def ensure_collection(conn: Any, dom: Domain, name: str) -> tuple[int, bool]:
    """The collection ``name`` of the domain: (id, whether it was created now)."""
    return _insert_or_find(
        conn,
        "INSERT INTO collections (domain_id, name) VALUES (%s, %s) "
        "ON CONFLICT (domain_id, name) DO NOTHING RETURNING id",
        (dom.id, name),
        "SELECT id FROM collections WHERE domain_id = %s AND name = %s",
        (dom.id, name),
    )


def add_member(conn: Any, collection: int, document_id: int) -> bool:
    """Put a document in a collection; False when it was already there."""
    row = conn.execute(
        "INSERT INTO collection_documents (collection_id, document_id) VALUES (%s, %s) "
        "ON CONFLICT DO NOTHING RETURNING 1",
        (collection, document_id),
    ).fetchone()
    return row is not None


def write_fetched(conn: Any, document_id: int, values: Mapping[str, Any]) -> bool:
    """Merge ``values`` into the document's ``fetched`` layer; False when nothing changed."""
    checked = normalise(values)
    current = read_layers(conn, [document_id]).get(document_id, {}).get("fetched", {})
    new = {**current, **checked}
    if "fields" in checked:
        new["fields"] = {**current.get("fields", {}), **checked["fields"]}
    if json.dumps(new, sort_keys=True) == json.dumps(current, sort_keys=True):
        return False
    write_layer(conn, document_id, "fetched", checked, replace=False)
    return True


# --- files through the ingest zone ------------------------------------------------------------


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class FileOutcome:
    """One file through the ingest zone: its document, or why there is none."""

    path: str
    document_id: int | None
    state: str
    error: str | None = None
    hint: str | None = None


def ingest_files(
    sm: Any, domain: str, paths: Sequence[Path], *, actor: Actor | None = None
) -> dict[str, FileOutcome]:
    """Ingest local files (the ordinary ``ingest``) and find each one's document."""
    from tidyllm.knowledge.ingest import ingest

    if not paths:
        return {}
    resolved = [p.resolve() for p in paths]
    hashes = {p.as_uri(): _sha256_file(p) for p in resolved}
    report = ingest(sm, domain, [str(p) for p in resolved], actor=actor)
    out: dict[str, FileOutcome] = {}
    with sm.connection() as conn:
        dom = get_domain(conn, domain)
        for item in report.items:
            sha = hashes.get(item.source_uri)
            doc = None
            if item.state in ("done", "duplicate") and sha:
                doc = dedup.holder(conn, dom.id, sha)
            out[item.source_uri] = FileOutcome(
                item.source_uri,
                doc,
                item.state,
                item.error if doc is None else None,
                item.hint if doc is None else None,
            )
    return out


def ingest_stream(
    sm: Any, domain: str, key: str, data: IO[bytes], *, actor: Actor | None = None
) -> FileOutcome:
    """Drop bytes into the domain's ingest zone under ``key``, process them, find the document."""
    from tidyllm.dropzones.api import UnifiedDropZones
    from tidyllm.knowledge.uploads import check_editor

    zone = check_editor(sm, domain, actor)
    digest = hashlib.sha256()
    for block in iter(lambda: data.read(1 << 20), b""):
        digest.update(block)
    data.seek(0)
    dz = UnifiedDropZones(sm)
    try:
        dz.drop_data(data, zone=zone, name=key)
    except DropZoneError as exc:
        raise PaperImportError(
            f"{key} is still waiting to be processed in domain {domain!r}: {exc}",
            code="busy",
            hint="run `tidyllm worker --once`, then add the paper again",
        ) from None
    outcomes: list[Any] = []
    dz.run_worker([zone], once=True, on_outcome=outcomes.append, watch=False)
    rows = [r for r in dz.ledger.by_key(key, zone)]
    newest = max(rows, key=lambda r: r.id) if rows else None
    state = newest.state if newest is not None else "missing"
    with sm.connection() as conn:
        dom = get_domain(conn, domain)
        doc = dedup.holder(conn, dom.id, digest.hexdigest())
    if doc is None:
        error = (newest.error or {}) if newest is not None else {}
        return FileOutcome(key, None, state, error.get("message") or state, error.get("hint"))
    return FileOutcome(key, doc, state)


# --- papers add -------------------------------------------------------------------------------


@dataclass(frozen=True)
class AddedPaper:
    """What ``add_papers`` did for one reference.

    ``status``: ``added`` (a new document), ``updated`` (its metadata or collections
    changed), ``unchanged``; ``has_file`` says whether the document has the paper's text.
    """

    ref: str
    document_id: int
    title: str | None
    status: str
    has_file: bool


def add_paper(
    sm: Any,
    domain: str,
    ref: str | PaperRef,
    *,
    collection: str | None = None,
    actor: Actor | None = None,
) -> AddedPaper:
    """Fetch one paper (``arxiv:ID`` or ``doi:10.x/y``) into ``domain``.

    arXiv: the Atom feed's metadata and the PDF, which is ingested (chunked, embedded,
    searchable). A DOI: Crossref's metadata; the paper is a metadata-only document unless
    the domain already holds a document with that DOI (then its metadata is updated).
    Everything outside is fetched and checked before anything is stored: a 404, a
    malformed answer, a PDF that is not a PDF or a timeout raise
    :class:`~tidyllm.knowledge.paper_sources.PaperSourceError` and store nothing.
    """
    paper = ref if isinstance(ref, PaperRef) else parse_ref(ref)
    if collection is not None:
        collection = collection_name(collection)
    with sm.connection() as conn:
        get_domain(conn, domain, actor=actor, need="editor")
    if paper.kind == "arxiv":
        values = fetch_arxiv(sm, paper.id)
        pdf = download_arxiv_pdf(sm, values["arxiv_id"])
        try:
            key = f"{ARXIV_KEY_PREFIX}{arxiv_base(values['arxiv_id']).replace('/', '_')}.pdf"
            outcome = ingest_stream(sm, domain, key, pdf, actor=actor)
        finally:
            pdf.close()
        if outcome.document_id is None:
            raise PaperImportError(
                f"arXiv {values['arxiv_id']}: the PDF could not be indexed: {outcome.error}",
                code="not_indexed",
                hint=outcome.hint or "see `tidyllm zones history` for the file",
            )
        new = outcome.state == "done"
        return _store(sm, domain, paper, values, outcome.document_id, collection, "arxiv", new)
    values = fetch_crossref(sm, paper.id)
    return _store(sm, domain, paper, values, None, collection, "doi")


def _store(
    sm: Any,
    domain: str,
    paper: PaperRef,
    values: Mapping[str, Any],
    document_id: int | None,
    collection: str | None,
    origin: str,
    new_file: bool = False,
) -> AddedPaper:
    with sm.connection() as conn, conn.transaction():
        dom = get_domain(conn, domain)
        dedup.lock_domain(conn, dom.id)  # before any document row (dedup's lock order)
        created = new_file
        if document_id is None:
            uri = (identity_uris(values) or [f"{paper.kind}:{paper.id}"])[0]
            document_id, created = paper_document(conn, dom, values, uri, origin)
        else:
            dedup.absorb_records(conn, dom.id, document_id, values, identity_uris(values))
        changed = write_fetched(conn, document_id, values)
        document_id, changed = merge_written(conn, document_id, changed)
        if collection:
            cid, _ = ensure_collection(conn, dom, collection)
            changed = add_member(conn, cid, document_id) or changed
        title, has_file = title_and_text(conn, document_id)
    status = "added" if created else ("updated" if changed else "unchanged")
    return AddedPaper(str(paper), document_id, title, status, has_file)


def add_papers(
    sm: Any,
    domain: str,
    refs: Sequence[str],
    *,
    collection: str | None = None,
    actor: Actor | None = None,
    progress: Callable[[str, AddedPaper | Exception], None] | None = None,
) -> list[AddedPaper | Exception]:
    """:func:`add_paper` for each reference; a failure is reported and the others go on.

    Every reference is parsed before anything is fetched (a typo fails the whole call).
    """
    parsed = [parse_ref(r) for r in refs]
    out: list[AddedPaper | Exception] = []
    for paper in parsed:
        try:
            result: AddedPaper | Exception = add_paper(
                sm, domain, paper, collection=collection, actor=actor
            )
        except (PaperSourceError, PaperImportError) as exc:
            result = exc
        out.append(result)
        if progress is not None:
            progress(str(paper), result)
    return out


# --- the legacy whitepapers folder ------------------------------------------------------------


@dataclass(frozen=True)
class LegacyPaper:
    """One paper of the legacy index and what became of it."""

    paper_id: str
    title: str | None
    document_id: int | None
    status: str  # added, updated, unchanged, failed
    pdf: str | None  # the PDF ingested, if one was found
    missing: str | None = None  # why it has no file (then it is metadata-only)


@dataclass
class LegacyReport:
    """What ``import_legacy`` did: every paper, the ones without a PDF, collections made."""

    papers: list[LegacyPaper] = field(default_factory=list)
    collections_created: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def missing(self) -> list[LegacyPaper]:
        return [p for p in self.papers if p.missing]

    def count(self, status: str) -> int:
        return sum(1 for p in self.papers if p.status == status)


MAX_LEGACY_JSON = 20 * 1024 * 1024
_SCALARS = (str, int, float)
_KNOWN = {
    "id",
    "paper_id",
    "title",
    "authors",
    "abstract",
    "summary",
    "year",
    "published",
    "date",
    "doi",
    "arxiv_id",
    "url",
    "pdf_url",
    "entry_id",
    "tags",
    "notes",
    "collections",
    "file_path",
    "pdf_path",
    "filename",
    "scores",
    "categories",
}


def _read_json(path: Path, report: LegacyReport) -> Any:
    try:
        if path.stat().st_size > MAX_LEGACY_JSON:
            report.problems.append(f"{path.name}: larger than {MAX_LEGACY_JSON:,} bytes, skipped")
            return None
        return json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        report.problems.append(f"{path.name}: not readable JSON ({exc}); skipped")
        return None


def _legacy_entries(folder: Path, report: LegacyReport) -> dict[str, dict[str, Any]]:
    """paper id -> its entry: the index's, overlaid by ``metadata/<id>.json``."""
    entries: dict[str, dict[str, Any]] = {}
    index = (
        _read_json(folder / "repository_index.json", report)
        if (folder / "repository_index.json").is_file()
        else None
    )
    papers = index.get("papers", index) if isinstance(index, dict) else index
    if isinstance(papers, dict):
        items = [({"id": k, **v} if isinstance(v, dict) else None) for k, v in papers.items()]
    elif isinstance(papers, list):
        items = [p if isinstance(p, dict) else None for p in papers]
    else:
        items = []
    for item in items:
        if item is None:
            report.problems.append("repository_index.json: an entry that is not an object, skipped")
            continue
        pid = str(item.get("id") or item.get("paper_id") or item.get("arxiv_id") or "").strip()
        if pid:
            entries.setdefault(pid, {}).update(item)
    meta_dir = folder / "metadata"
    if meta_dir.is_dir():
        for path in sorted(meta_dir.glob("*.json")):
            data = _read_json(path, report)
            if not isinstance(data, dict):
                if data is not None:
                    report.problems.append(f"metadata/{path.name}: not an object; skipped")
                continue
            pid = str(data.get("id") or data.get("paper_id") or data.get("arxiv_id") or path.stem)
            entries.setdefault(pid.strip(), {}).update(data)
    return entries


def _scalar_list(value: Any) -> list[str]:
    if isinstance(value, str):
        return [v.strip() for v in re.split(r"[;,]", value) if v.strip()]
    if isinstance(value, list):
        return [str(v) for v in value if isinstance(v, _SCALARS) and not isinstance(v, bool)]
    return []


def legacy_values(pid: str, entry: Mapping[str, Any]) -> dict[str, Any]:
    """The metadata fields of one legacy entry (titles cleaned, scores as free fields)."""
    values: dict[str, Any] = {}
    title = entry.get("title")
    if isinstance(title, str) and title.strip():
        values["title"] = title
    authors = entry.get("authors")
    if isinstance(authors, list):
        values["authors"] = [
            a if isinstance(a, str) else str(a.get("name", "")) if isinstance(a, dict) else ""
            for a in authors
        ]
    elif isinstance(authors, str):
        values["authors"] = [a.strip() for a in re.split(r"\s+and\s+|;|,", authors) if a.strip()]
    abstract = entry.get("abstract") or entry.get("summary")
    if isinstance(abstract, str):
        values["abstract"] = abstract
    date = entry.get("published") or entry.get("date")
    if isinstance(date, str) and re.match(r"^\d{4}", date.strip()):
        values["date"] = date.strip()[:10]
        values["year"] = int(date.strip()[:4])
    if isinstance(entry.get("year"), int | str) and str(entry["year"]).strip().isdigit():
        values["year"] = int(str(entry["year"]).strip())
    for name in ("doi", "url", "notes"):
        if isinstance(entry.get(name), str) and entry[name].strip():
            values[name] = entry[name]
    arxiv = entry.get("arxiv_id") or (pid if re.match(r"^\d{4}\.\d{4,5}(v\d+)?$", pid) else None)
    if isinstance(arxiv, str) and arxiv.strip():
        values["arxiv_id"] = arxiv.strip()
    if "url" not in values:
        for key in ("entry_id", "pdf_url"):
            if isinstance(entry.get(key), str) and entry[key].startswith("http"):
                values["url"] = entry[key]
                break
    tags = _scalar_list(entry.get("tags")) + [t for t in _scalar_list(entry.get("categories")) if t]
    if tags:
        values["tags"] = tags
    free: dict[str, str] = {"legacy_id": pid}
    scores = entry.get("scores")
    if isinstance(scores, dict):
        for key, value in scores.items():
            if isinstance(value, _SCALARS) and not isinstance(value, bool):
                free[_free_key(str(key))] = str(value)
    for key, value in entry.items():
        if key in _KNOWN or key in ("tags", "categories"):
            continue
        if isinstance(value, _SCALARS) and not isinstance(value, bool) and str(value).strip():
            free[_free_key(key)] = str(value)
    values["fields"] = free
    return values


def _free_key(key: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9_.-]", "_", key)[:64] or "field"
    return cleaned if cleaned[0].isalpha() else f"f_{cleaned}"[:64]


def _legacy_pdf(folder: Path, pid: str, entry: Mapping[str, Any]) -> tuple[Path | None, str]:
    """The PDF in ``papers/`` (by the base name of the index's path, Windows or not)."""
    papers = folder / "papers"
    names = []
    for key in ("file_path", "pdf_path", "filename"):
        value = entry.get(key)
        if isinstance(value, str) and value.strip():
            names.append(re.split(r"[\\/]", value.strip())[-1])
    names.append(f"{pid.replace('/', '_')}.pdf")
    for name in dict.fromkeys(names):
        if not name or name in (".", "..") or "\x00" in name:
            continue
        path = papers / name
        if path.is_file() and not path.is_symlink():
            return path, ""
    shown = names[0] if names else f"{pid}.pdf"
    return None, f"no file {shown!r} in {papers}"


def import_legacy(
    sm: Any,
    domain: str,
    folder: str | Path,
    *,
    actor: Actor | None = None,
    progress: Callable[[LegacyPaper], None] | None = None,
) -> LegacyReport:
    """Import the legacy whitepapers layout: ``repository_index.json``, ``metadata/*.json``,
    ``papers/*.pdf``.

    Every paper of the index or of ``metadata/`` becomes a document: its PDF (found by
    the base name of its recorded path, which may be a Windows path, in ``papers/``) is
    ingested; a paper whose PDF is missing is a metadata-only document and is listed in
    :attr:`LegacyReport.missing`. Metadata (titles cleaned of line breaks, authors,
    dates, identifiers, tags, notes; scores and any other value as free fields) is the
    ``fetched`` layer; collections are created and filled. A second import changes nothing.
    """
    root = Path(folder).expanduser()
    if not root.is_dir():
        raise PaperImportError(f"{str(root)!r} is not a folder", code="not_found")
    if not (root / "repository_index.json").is_file() and not (root / "metadata").is_dir():
        raise PaperImportError(
            f"{str(root)!r} has neither repository_index.json nor metadata/",
            code="not_legacy",
            hint="point at the folder that holds repository_index.json, metadata/ and papers/",
        )
    with sm.connection() as conn:
        get_domain(conn, domain, actor=actor, need="editor")
    report = LegacyReport()
    entries = _legacy_entries(root, report)
    found: dict[str, tuple[Path | None, str]] = {
        pid: _legacy_pdf(root, pid, entry) for pid, entry in entries.items()
    }
    pdfs = sorted({p for p, _ in found.values() if p is not None})
    outcomes = ingest_files(sm, domain, pdfs, actor=actor)
    for pid, entry in entries.items():
        pdf, why = found[pid]
        outcome = outcomes.get(pdf.resolve().as_uri()) if pdf is not None else None
        if pdf is not None and (outcome is None or outcome.document_id is None):
            why = f"{pdf.name} could not be indexed: {outcome.error if outcome else 'not run'}"
        try:
            paper = _store_legacy(sm, domain, pid, entry, outcome, pdf, why, report)
        except MetadataError as exc:
            paper = LegacyPaper(pid, None, None, "failed", None, f"metadata refused: {exc}")
            report.problems.append(f"{pid}: {exc}")
        report.papers.append(paper)
        if progress is not None:
            progress(paper)
    return report


def _store_legacy(
    sm: Any,
    domain: str,
    pid: str,
    entry: Mapping[str, Any],
    outcome: FileOutcome | None,
    pdf: Path | None,
    why: str,
    report: LegacyReport,
) -> LegacyPaper:
    values = legacy_values(pid, entry)
    names = []
    for raw in _scalar_list(entry.get("collections")):
        try:
            names.append(collection_name(raw))
        except MetadataError as exc:
            report.problems.append(f"{pid}: {exc}")
    with sm.connection() as conn, conn.transaction():
        dom = get_domain(conn, domain)
        dedup.lock_domain(conn, dom.id)  # before any document row (dedup's lock order)
        created = False
        document_id = outcome.document_id if outcome is not None else None
        if document_id is not None:
            uris = [f"legacy:{pid}", *identity_uris(values)]
            dedup.absorb_records(conn, dom.id, document_id, values, uris)
        else:
            document_id, created = paper_document(conn, dom, values, f"legacy:{pid}", "legacy")
        changed = write_fetched(conn, document_id, values)
        document_id, changed = merge_written(conn, document_id, changed)
        for name in names:
            cid, new = ensure_collection(conn, dom, name)
            if new:
                report.collections_created.append(name)
            changed = add_member(conn, cid, document_id) or changed
        title, has_file = title_and_text(conn, document_id)
    if outcome is not None and outcome.state == "done":
        created = True
    status = "added" if created else ("updated" if changed else "unchanged")
    return LegacyPaper(
        pid,
        title,
        document_id,
        status,
        str(pdf) if pdf is not None and has_file else None,
        None if has_file else (why or "no PDF"),
    )
