"""arXiv and Crossref: a paper's metadata (and arXiv's PDF) from the outside services.

Both go through the session manager's polite client (``sm.outside_http()``, settings
``papers.*``). What comes back is a plain mapping of metadata fields
(:mod:`tidyllm.knowledge.metadata` names) ready to be written as the ``fetched`` layer;
nothing here touches the database. Every failure is a :class:`PaperSourceError` with one
clear line and a hint: not found, a malformed answer, a PDF that is not a PDF, a timeout.
"""

from __future__ import annotations

import re
import tempfile
import urllib.parse
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import IO, Any

from tidyllm.errors import KnowledgeError
from tidyllm.knowledge.metadata import clean_text
from tidyllm.session.outside import OutsideHTTPError

MAX_FEED_BYTES = 5 * 1024 * 1024
_ATOM = "{http://www.w3.org/2005/Atom}"
_ARXIV = "{http://arxiv.org/schemas/atom}"
_OPENSEARCH = "{http://a9.com/-/spec/opensearch/1.1/}"
# new-style (2410.11842, 2410.11842v2) and old-style (hep-th/9901001v1) identifiers
ARXIV_ID = re.compile(r"^(\d{4}\.\d{4,5}|[a-z][a-z.-]*(?:\.[A-Z]{2})?/\d{7})(v\d+)?$")
DOI = re.compile(r"^10\.\d{4,9}/\S{1,300}$")
_JATS = re.compile(r"<[^>]{0,200}>")


class PaperSourceError(KnowledgeError):
    """arXiv or Crossref gave no usable answer; nothing was stored."""

    def __init__(self, message: str, *, code: str, hint: str = "") -> None:
        super().__init__(f"{message}; {hint}" if hint else message)  # the CLI's one line
        self.message = message
        self.code = code
        self.hint = hint


@dataclass(frozen=True)
class PaperRef:
    """One thing to add: ``arxiv:ID[vN]`` or ``doi:10.x/y``."""

    kind: str  # "arxiv" or "doi"
    id: str

    def __str__(self) -> str:
        return f"{self.kind}:{self.id}"


def parse_ref(text: str) -> PaperRef:
    """``arxiv:2410.11842``, ``arXiv:2410.11842v2``, ``doi:10.1000/xyz`` (or a bare id/DOI)."""
    if not isinstance(text, str) or not text.strip() or len(text) > 400:
        raise PaperSourceError(f"not a paper reference: {str(text)[:80]!r}", code="bad_ref")
    raw = text.strip()
    scheme, _, rest = raw.partition(":")
    lowered = scheme.lower()
    if lowered in ("arxiv", "doi") and rest:
        kind, value = lowered, rest.strip()
    elif raw.lower().startswith(("https://doi.org/", "http://doi.org/")):
        kind, value = "doi", raw.split("doi.org/", 1)[1]
    elif DOI.match(raw):
        kind, value = "doi", raw
    else:
        kind, value = "arxiv", raw
    if kind == "arxiv":
        value = re.sub(r"^https?://arxiv\.org/(abs|pdf)/", "", value).removesuffix(".pdf")
        if not ARXIV_ID.match(value):
            raise PaperSourceError(
                f"{raw[:80]!r} is not an arXiv identifier",
                code="bad_ref",
                hint="write it as arxiv:2410.11842 (optionally with a version, v2)",
            )
        return PaperRef("arxiv", value)
    value = urllib.parse.unquote(value)
    if not DOI.match(value):
        raise PaperSourceError(
            f"{raw[:80]!r} is not a DOI",
            code="bad_ref",
            hint="write it as doi:10.1234/abcd (a DOI starts with 10.)",
        )
    return PaperRef("doi", value)


def _service_error(exc: OutsideHTTPError, what: str) -> PaperSourceError:
    if exc.kind == "not_found":
        return PaperSourceError(f"{what} was not found", code="not_found", hint=exc.hint)
    return PaperSourceError(f"{what}: {exc.args[0]}", code=exc.kind, hint=exc.hint)


def _fetch(sm: Any, url: str, params: dict[str, str] | None, accept: str, what: str) -> bytes:
    """One bounded GET of a metadata service's answer; its failure as a PaperSourceError."""
    try:
        response = sm.outside_http().get(
            url, params=params, accept=accept, max_bytes=MAX_FEED_BYTES
        )
    except OutsideHTTPError as exc:
        raise _service_error(exc, what) from None
    return response.body


def _unusable(what: str, ref: str, why: str, hint: str) -> PaperSourceError:
    """A service's answer that is not what it should be (``what``: the kind of answer)."""
    return PaperSourceError(
        f"{what} for {ref} is not a usable {why}; nothing was stored",
        code="malformed",
        hint=hint,
    )


# --- arXiv ------------------------------------------------------------------------------------


def fetch_arxiv(sm: Any, arxiv_id: str) -> dict[str, Any]:
    """The metadata of one arXiv paper from the API's Atom feed (the ``fetched`` layer)."""
    url = f"{sm.settings.papers.arxiv_api_url}/query"
    params = {"id_list": arxiv_id, "max_results": "1"}
    body = _fetch(sm, url, params, "application/atom+xml", f"arXiv paper {arxiv_id}")
    return parse_arxiv_feed(body, arxiv_id)


def _malformed(arxiv_id: str, why: str) -> PaperSourceError:
    hint = "check papers.arxiv_api_url points at the arXiv API, then try again"
    return _unusable("arXiv's answer", arxiv_id, f"Atom feed ({why})", hint)


def parse_arxiv_feed(body: bytes, arxiv_id: str) -> dict[str, Any]:
    """The fields of the feed's one entry; :class:`PaperSourceError` when there is none."""
    if b"<!DOCTYPE" in body[:4096].upper() or b"<!ENTITY" in body.upper():
        raise _malformed(arxiv_id, "it declares a DOCTYPE or entities")
    try:
        root = ET.fromstring(body)  # noqa: S314 - no DOCTYPE, so no entity expansion
    except ET.ParseError as exc:
        raise _malformed(arxiv_id, f"XML error: {exc}") from None
    if root.tag != f"{_ATOM}feed":
        raise _malformed(arxiv_id, f"the root element is {root.tag[:60]!r}, not an Atom feed")
    entries = root.findall(f"{_ATOM}entry")
    entry_ids = [(e.findtext(f"{_ATOM}id") or "").strip() for e in entries]
    errors = [e for e, i in zip(entries, entry_ids, strict=True) if "/api/errors" in i]
    if errors:
        said = clean_text(errors[0].findtext(f"{_ATOM}summary") or "an error", 200)
        raise PaperSourceError(
            f"arXiv refused {arxiv_id}: {said}", code="not_found", hint="check the identifier"
        )
    if not entries:
        raise PaperSourceError(
            f"arXiv paper {arxiv_id} was not found", code="not_found", hint="check the identifier"
        )
    entry = entries[0]
    abs_url = entry_ids[0]
    found = abs_url.rsplit("/abs/", 1)[-1]
    if not ARXIV_ID.match(found):
        raise _malformed(arxiv_id, f"the entry's id {abs_url[:80]!r} is not an arXiv URL")
    if found.split("v")[0] != arxiv_id.split("v")[0] and not found.startswith(arxiv_id):
        raise _malformed(arxiv_id, f"the feed describes {found}, not {arxiv_id}")
    title = clean_text(entry.findtext(f"{_ATOM}title") or "", 1000)
    if not title:
        raise _malformed(arxiv_id, "the entry has no title")
    authors = [
        clean_text(a.findtext(f"{_ATOM}name") or "", 300) for a in entry.findall(f"{_ATOM}author")
    ]
    published = (entry.findtext(f"{_ATOM}published") or "").strip()
    values: dict[str, Any] = {
        "title": title,
        "authors": [a for a in authors if a],
        "abstract": clean_text(entry.findtext(f"{_ATOM}summary") or "", 20_000) or None,
        "arxiv_id": found,
        "url": f"https://arxiv.org/abs/{found}",
    }
    if re.match(r"^\d{4}-\d{2}-\d{2}", published):
        values["date"] = published[:10]
        values["year"] = int(published[:4])
    doi = (entry.findtext(f"{_ARXIV}doi") or "").strip()
    if DOI.match(doi):
        values["doi"] = doi
    free = {}
    category = entry.find(f"{_ARXIV}primary_category")
    if category is not None and category.get("term"):
        free["arxiv_category"] = category.get("term")
    for tag, key in ((f"{_ARXIV}journal_ref", "journal"), (f"{_ARXIV}comment", "arxiv_comment")):
        text = clean_text(entry.findtext(tag) or "", 2000)
        if text:
            free[key] = text
    if free:
        values["fields"] = free
    return values


PDF_MAGIC = b"%PDF-"


def _check_pdf(what: str) -> Any:
    def check(head: bytes) -> None:
        if head.lstrip()[:5] != PDF_MAGIC:
            shown = head[:16]
            raise PaperSourceError(
                f"{what} is not a PDF (it starts with {shown!r}); nothing was stored",
                code="not_pdf",
                hint="arXiv may not have a PDF for this paper yet; try again later",
            )

    return check


def download_arxiv_pdf(sm: Any, arxiv_id: str) -> IO[bytes]:
    """The paper's PDF in a temporary file (deleted on close), checked to be a PDF."""
    conf = sm.settings.papers
    http = sm.outside_http()
    spool = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115
    try:
        with http.stream(
            f"{conf.arxiv_pdf_url}/{arxiv_id}",
            accept="application/pdf",
            max_bytes=int(conf.max_pdf_mb * 1024 * 1024),
            check_head=_check_pdf(f"the PDF of arXiv {arxiv_id}"),
        ) as (_, pieces):
            for piece in pieces:
                spool.write(piece)
    except OutsideHTTPError as exc:
        spool.close()
        raise _service_error(exc, f"the PDF of arXiv {arxiv_id}") from None
    except BaseException:
        spool.close()
        raise
    spool.seek(0)
    return spool


# --- Crossref ---------------------------------------------------------------------------------


def fetch_crossref(sm: Any, doi: str) -> dict[str, Any]:
    """The metadata of one DOI from Crossref's ``/works/{doi}`` (the ``fetched`` layer)."""
    conf = sm.settings.papers
    url = f"{conf.crossref_url}/works/{urllib.parse.quote(doi, safe='/')}"
    params = {"mailto": conf.contact_email} if conf.contact_email else None
    return parse_crossref(_fetch(sm, url, params, "application/json", f"DOI {doi}"), doi)


def _bad_crossref(doi: str, why: str) -> PaperSourceError:
    hint = "check papers.crossref_url points at the Crossref REST API"
    return _unusable("Crossref's answer", doi, f"works record ({why})", hint)


def _first(value: Any) -> str | None:
    if isinstance(value, list):
        value = value[0] if value else None
    return value if isinstance(value, str) else None


def parse_crossref(body: bytes, doi: str) -> dict[str, Any]:
    """The fields of a Crossref works record."""
    import json

    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise _bad_crossref(doi, f"not JSON: {exc}") from None
    message = data.get("message") if isinstance(data, dict) else None
    if not isinstance(message, dict):
        raise _bad_crossref(doi, "no 'message' object")
    title = clean_text(_first(message.get("title")) or "", 1000)
    if not title:
        raise _bad_crossref(doi, "no title")
    authors = []
    for person in message.get("author") or []:
        if not isinstance(person, dict):
            continue
        name = person.get("name") or " ".join(
            p for p in (person.get("given"), person.get("family")) if isinstance(p, str)
        )
        if isinstance(name, str) and name.strip():
            authors.append(name)
        if len(authors) >= 500:
            break
    values: dict[str, Any] = {"title": title, "authors": authors}
    found = message.get("DOI")
    values["doi"] = found if isinstance(found, str) and DOI.match(found) else doi
    if isinstance(message.get("URL"), str):
        values["url"] = message["URL"]
    for key in ("published", "issued", "published-print", "published-online", "created"):
        parts = (
            (message.get(key) or {}).get("date-parts")
            if isinstance(message.get(key), dict)
            else None
        )
        if parts and isinstance(parts[0], list) and parts[0] and isinstance(parts[0][0], int):
            date = parts[0][:3]
            if 1000 <= date[0] <= 9999:
                values["year"] = date[0]
                values["date"] = "-".join(f"{p:02d}" if i else str(p) for i, p in enumerate(date))
                break
    abstract = message.get("abstract")
    if isinstance(abstract, str):
        values["abstract"] = clean_text(_JATS.sub(" ", abstract[:200_000]), 20_000) or None
    isbn = _first(message.get("ISBN"))
    if isbn:
        values["isbn"] = isbn
    free = {}
    for key, name in (
        ("container-title", "journal"),
        ("volume", "volume"),
        ("issue", "number"),
        ("page", "pages"),
        ("publisher", "publisher"),
        ("type", "crossref_type"),
    ):
        value = _first(message.get(key))
        if value:
            free[name] = value
    if free:
        values["fields"] = free
    return values
