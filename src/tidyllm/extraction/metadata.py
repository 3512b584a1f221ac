"""What a file says about itself: title, authors, date, identifiers (the ``extracted`` layer).

Two halves, so every byte of an untrusted file is parsed inside the limited extraction
child (:mod:`tidyllm.extraction.isolate`), never in the worker:

* :func:`extract_with_metadata` is an extraction *runner* (the child calls it instead of
  :func:`~tidyllm.extraction.extract.extract`): the same extraction, plus, for PDFs, the XMP
  packet (``xmp.title``, ``xmp.creators``, ``xmp.date``, ``xmp.doi``) and the first page's
  largest-font lines (``layout.title``) added to the document's ``metadata`` (text only, so
  it crosses the process boundary as it is). The PDF information dictionary and the Office
  core properties are already there (``title``, ``author``, ``creationdate``, ``created``...).
* :func:`file_metadata` turns a document's ``metadata`` and its first pages' text into the
  fields of :mod:`tidyllm.knowledge.metadata` (``title``, ``authors``, ``year``, ``date``,
  ``doi``, ``arxiv_id``, ``fields``): pure text work, no file access.

Which value wins, field by field:

* title: the information dictionary's or the core properties' unless it is junk
  ("Microsoft Word - x.docx", "untitled", a file name), else XMP ``dc:title``, else the
  first page's largest-font lines;
* authors: the information dictionary's ``Author`` / core ``author`` (split on ``;``, `` and ``
  and commas between full names), else XMP ``dc:creator``;
* date and year: a date printed near the top of the first page (a report's cover date,
  an arXiv stamp) - what a reader would cite - else XMP ``CreateDate``, else the
  information dictionary's ``CreationDate`` / core ``created`` (when the file was made,
  which for a re-issued PDF is years after publication);
* arXiv id (new ``2410.11842v2`` and old ``hep-th/9901001v1`` style) and DOI: the first
  ones on the first two pages, else XMP's.

Reading metadata never fails an ingest: anything unreadable is logged and skipped.
"""

from __future__ import annotations

import logging
import mmap
import re
from collections import Counter
from collections.abc import Mapping
from os import PathLike
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from tidyllm.extraction.limits import ExtractLimits
from tidyllm.extraction.model import ExtractedDocument

log = logging.getLogger(__name__)

#: keys this module adds to a PDF's ``ExtractedDocument.metadata`` in the child
XMP_TITLE, XMP_CREATORS, XMP_DATE, XMP_DOI = "xmp.title", "xmp.creators", "xmp.date", "xmp.doi"
LAYOUT_TITLE = "layout.title"

ARXIV_NEW = re.compile(r"\barXiv:\s*(\d{4}\.\d{4,5})(v\d+)?\b", re.IGNORECASE)
ARXIV_OLD = re.compile(r"\barXiv:\s*([a-z][a-z.-]{1,20}/\d{7})(v\d+)?\b", re.IGNORECASE)
ARXIV_URL = re.compile(
    r"arxiv\.org/(?:abs|pdf)/(\d{4}\.\d{4,5}|[a-z][a-z.-]{1,20}/\d{7})(v\d+)?", re.IGNORECASE
)
DOI = re.compile(r"\b(10\.\d{4,9}/[^\s\"<>]+)", re.IGNORECASE)
_DOI_TAIL = ".,;:)]}'"
_MONTHS = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
]
_MONTH = (
    r"(Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?"
    r"|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?"
)
_PRINTED_DATES = (
    re.compile(_MONTH + r"\s+(\d{1,2}),?\s+(\d{4})\b", re.IGNORECASE),  # October 29, 2015
    re.compile(r"\b(\d{1,2})\s+" + _MONTH + r",?\s+(\d{4})\b", re.IGNORECASE),  # 15 Oct 2024
    re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b"),  # 2024-10-15
)
_HEAD_LINES = 25  # a printed date counts only near the top of the first page
_PDF_DATE = re.compile(r"^(?:D:)?(\d{4})(\d{2})?(\d{2})?")
_ISO_DATE = re.compile(r"^(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?")
_JUNK_TITLE = re.compile(
    r"^(?:untitled(?:\s*document)?|no\s*title|title|document\d*|presentation\d*|slide\s*\d*"
    r"|microsoft\s+(?:word|powerpoint|excel)\s*-.*|powerpoint\s+presentation"
    r"|.*\.(?:docx?|pptx?|xlsx?|pdf|tex|dvi|rtf|odt|txt|indd|qxd)|[\W\d_]*)$",
    re.IGNORECASE,
)
_JUNK_AUTHORS = frozenset({"unknown", "administrator", "admin", "user", "owner", "author"})
_MIN_TITLE_LETTERS = 4
_DC = "http://purl.org/dc/elements/1.1/"
_XMP = "http://ns.adobe.com/xap/1.0/"
_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
_MAX_XMP_BYTES = 1024 * 1024
_MAX_XMP_PACKETS = 50
_MAX_LAYOUT_CHARS = 6000  # characters of page 1 looked at for the largest font
_MAX_TITLE_CHARS = 400


# -- the child side: read XMP and the first page's layout --------------------------------------


def extract_with_metadata(
    path: str | PathLike[str],
    *,
    filename: str | None = None,
    limits: ExtractLimits = ExtractLimits(),  # noqa: B008 - frozen, so a shared default is safe
) -> ExtractedDocument:
    """:func:`~tidyllm.extraction.extract.extract`, plus XMP and the layout title for PDFs.

    An extraction runner (``"tidyllm.extraction.metadata:extract_with_metadata"``) for
    :func:`~tidyllm.extraction.isolate.extract_isolated`. Extraction errors are raised
    as ever; a failure to read the extra metadata only leaves it out.
    """
    from tidyllm.extraction.extract import extract

    document = extract(path, filename=filename, limits=limits)
    if document.mime != "application/pdf":
        return document
    extra = pdf_extras(Path(path))
    if not extra:
        return document
    return ExtractedDocument(
        mime=document.mime,
        pages=document.pages,
        title=document.title,
        metadata={**document.metadata, **extra},
        warnings=document.warnings,
        ocr=document.ocr,
    )


def pdf_extras(path: Path) -> dict[str, str]:
    """``xmp.*`` and ``layout.title`` of a PDF (what is missing is left out; never raises)."""
    out: dict[str, str] = {}
    try:
        out.update(_xmp(path))
    except Exception as exc:  # a broken XMP packet must not cost the document
        log.info("%s: XMP metadata not read: %s", path.name, exc.__class__.__name__)
    try:
        title = layout_title(path)
        if title:
            out[LAYOUT_TITLE] = title
    except Exception as exc:
        log.info("%s: first-page layout not read: %s", path.name, exc.__class__.__name__)
    return out


def _xmp(path: Path) -> dict[str, str]:
    """The document's XMP packet, found in the raw bytes (no PDF library: importing pypdf in
    every extraction child cost ~0.2 s). The packet describing the PDF says
    ``dc:format`` ``application/pdf``; an image's own packet does not. A compressed packet is
    not seen (the Info dictionary and the layout still are)."""
    packet = _document_packet(path)
    if packet is None:
        return {}
    # a packet with a DOCTYPE or ENTITY was dropped above (no expansion, no external entity);
    # this runs in the limited extraction child
    root = ElementTree.fromstring(packet)  # noqa: S314
    out: dict[str, str] = {}
    titles = _xmp_items(root, _DC, "title")
    if titles:
        out[XMP_TITLE] = titles[0]
    creators = _xmp_items(root, _DC, "creator")
    if creators:
        out[XMP_CREATORS] = "\n".join(creators[:1000])
    created = parse_date(next(iter(_xmp_values(root, _XMP, "CreateDate")), None))
    if created:
        out[XMP_DATE] = created
    identifiers = [*_xmp_values(root, None, "doi"), *_xmp_items(root, _DC, "identifier")]
    found = find_doi(" ".join(identifiers))
    if found:
        out[XMP_DOI] = found
    return out


def _document_packet(path: Path) -> bytes | None:
    """The catalog's ``/Metadata`` packet when the catalog is readable in the raw bytes (not
    inside a compressed object stream), else the one packet that says ``application/pdf``."""
    with path.open("rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as m:
        packet = _catalog_packet(m)
        if packet is not None:
            return packet if _safe(packet) else None
        packets: list[bytes] = []
        position = 0
        while len(packets) < _MAX_XMP_PACKETS:
            found = _packet_at(m, position, len(m))
            if found is None:
                break
            packet, position = found
            packets.append(packet)
    packets = [p for p in packets if _safe(p)]
    mine = [p for p in packets if b"application/pdf" in p]
    if len(mine) == 1:
        return mine[0]
    return packets[0] if len(packets) == 1 else None  # several: which is the document's?


def _catalog_packet(m: Any) -> bytes | None:
    position = 0
    for _ in range(_MAX_XMP_PACKETS):  # literal searches: a regex over the file is 50x slower
        at = m.find(b"/Catalog", position)
        if at < 0:
            return None
        position = at + 8
        window = m[max(0, at - 4096) : at + 4096]
        ref = re.search(rb"/Metadata\s+(\d+)\s+(\d+)\s+R", window)
        if ref is None:
            continue
        header = ref.group(1) + b" " + ref.group(2) + b" obj"
        start = m.rfind(header)  # the last definition wins (incremental updates)
        while start > 0 and m[start - 1 : start].isdigit():
            start = m.rfind(header, 0, start)
        if start < 0:
            continue
        end = m.find(b"endobj", start)
        found = _packet_at(m, start, end if end > 0 else len(m))
        if found is not None:
            return found[0]
    return None


def _packet_at(m: Any, start: int, stop: int) -> tuple[bytes, int] | None:
    begin = m.find(b"<x:xmpmeta", start, stop)
    if begin < 0:
        return None
    end = m.find(b"</x:xmpmeta>", begin, stop)
    if end < 0 or end - begin > _MAX_XMP_BYTES:
        return None
    end += len(b"</x:xmpmeta>")
    return m[begin:end], end


def _safe(packet: bytes) -> bool:
    """Entity declarations have no place in XMP (and could expand): such a packet is skipped."""
    return b"<!ENTITY" not in packet and b"<!DOCTYPE" not in packet


def _xmp_values(root: Any, namespace: str | None, name: str) -> list[str]:
    """Simple values of property ``name``: as attributes or as elements' text."""
    out: list[str] = []
    for element in root.iter():
        for key, value in element.attrib.items():
            if _matches(key, namespace, name) and value.strip():
                out.append(value.strip())
        if _matches(element.tag, namespace, name) and (element.text or "").strip():
            out.append((element.text or "").strip())
    return out


def _xmp_items(root: Any, namespace: str, name: str) -> list[str]:
    """Items of an ``rdf:Alt``/``Seq``/``Bag`` property (``x-default`` first), or its text."""
    for element in root.iter():
        if not _matches(element.tag, namespace, name):
            continue
        items = [li for li in element.iter(f"{{{_RDF}}}li") if (li.text or "").strip()]
        items.sort(key=lambda li: li.get(_XML_LANG) != "x-default")
        values = [(li.text or "").strip() for li in items]
        if not values and (element.text or "").strip():
            values = [(element.text or "").strip()]
        if values:
            return values
    return []


def _matches(tag: str, namespace: str | None, name: str) -> bool:
    if namespace is None:
        return tag == name or tag.endswith("}" + name)
    return tag == f"{{{namespace}}}{name}"


def layout_title(path: Path) -> str | None:
    """The first page's largest-font lines (by each glyph's box height, which includes the
    text matrix: many producers draw every glyph at font size 1 and scale it)."""
    import pypdfium2 as pdfium
    import pypdfium2.raw as raw

    doc = pdfium.PdfDocument(str(path))
    try:
        page = doc[0]
        textpage = page.get_textpage()
        try:
            count = min(textpage.count_chars(), _MAX_LAYOUT_CHARS)
            glyphs: list[tuple[float, str]] = []
            box = raw.FS_RECTF()
            for index in range(count):
                char = chr(raw.FPDFText_GetUnicode(textpage.raw, index) or 32)
                raw.FPDFText_GetLooseCharBox(textpage.raw, index, box)
                glyphs.append((round(box.top - box.bottom, 1), char))
        finally:
            textpage.close()
            page.close()
    finally:
        doc.close()
    return largest_font_text(glyphs)


_TITLE_OVER_BODY = 1.15  # a title is set at least this much larger than the body text


def largest_font_text(glyphs: list[tuple[float, str]]) -> str | None:
    """The first run of the largest size that holds a word (a drop cap or a logo letter
    does not count); spaces and line breaks (size 0 or any size) join its lines.

    Only a size clearly above the body text's (the size most glyphs have) is a title: on
    a page set in one size, the first line is body text, not a title.
    """
    counts = Counter(round(size, 1) for size, char in glyphs if size > 0 and not char.isspace())
    if not counts:
        return None
    body = counts.most_common(1)[0][0]
    sizes = sorted((s for s in counts if s >= _TITLE_OVER_BODY * body), reverse=True)
    for size in sizes[:8]:
        text = _first_run(glyphs, size)
        if sum(ch.isalpha() for ch in text) >= _MIN_TITLE_LETTERS:
            return " ".join(text.split())[:_MAX_TITLE_CHARS] or None
    return None


def _first_run(glyphs: list[tuple[float, str]], size: float) -> str:
    out: list[str] = []
    for glyph_size, char in glyphs:
        if char.isspace() or glyph_size <= 0:
            if out:
                out.append(" ")
        elif abs(glyph_size - size) <= 0.05 * size:
            out.append(char)
        elif out and any(c.isalpha() for c in out):
            break  # the run ended
        else:
            out = []  # a stray glyph of this size before other text: start again
    return "".join(out)


# -- the parent side: turn what the file said into metadata fields ------------------------------


def file_metadata(document: Any) -> dict[str, Any]:
    """The ``extracted`` layer's fields for an extracted document (plain text work).

    Returns only what was found, with the names of :mod:`tidyllm.knowledge.metadata`
    (values are cleaned and bounded again by it). Never raises: a value that cannot be
    read is logged and left out.
    """
    meta = getattr(document, "metadata", None) or {}
    pages = getattr(document, "pages", None) or ()
    out: dict[str, Any] = {}
    for name, reader in _READERS:
        try:
            value = reader(meta, pages)
        except Exception as exc:  # metadata is a nicety; never the reason a file fails
            log.warning("metadata field %s not read: %s: %s", name, exc.__class__.__name__, exc)
            continue
        if value:
            out[name] = value
    if "date" in out and "year" not in out:
        out["year"] = int(out["date"][:4])
    return out


def _text(meta: Mapping[str, str], *keys: str) -> str | None:
    for key in keys:
        value = meta.get(key)
        if isinstance(value, str) and value.strip():
            return " ".join(value.split())
    return None


def is_junk_title(title: str | None) -> bool:
    """True for titles that say nothing: empty, "untitled", a file name, "Microsoft Word - x"."""
    if not title or not title.strip():
        return True
    text = " ".join(title.split())
    if "_" in text:  # "Model Validation Paper_Final": a file name, not a title
        return True
    return bool(_JUNK_TITLE.match(text)) or sum(c.isalpha() for c in text) < _MIN_TITLE_LETTERS


def _title(meta: Mapping[str, str], pages: Any) -> str | None:
    for key in ("title", XMP_TITLE, LAYOUT_TITLE):
        value = _text(meta, key)
        if value and not is_junk_title(value):
            return value[:_MAX_TITLE_CHARS]
    return None


def split_authors(text: str) -> list[str]:
    """``"A. Smith; B. Jones"``, ``"A. Smith and B. Jones"``, ``"Smith, A., Jones, B."``...

    Commas split only when every part looks like a full name (two words or more), so
    ``"Smith, John"`` stays one author.
    """
    text = " ".join(text.split())
    parts = re.split(r"\s*(?:;|\n|\band\b|&)\s*", text)
    out: list[str] = []
    for part in parts:
        pieces = [p.strip() for p in part.split(",") if p.strip()]
        if len(pieces) > 1 and all(len(p.split()) >= 2 for p in pieces):
            out += pieces
        elif part.strip(" ,"):
            out.append(part.strip(" ,"))
    return out


def _authors(meta: Mapping[str, str], pages: Any) -> list[str] | None:
    value = _text(meta, "author")
    if value and value.lower() not in _JUNK_AUTHORS:
        return split_authors(value)
    creators = meta.get(XMP_CREATORS)
    if isinstance(creators, str) and creators.strip():
        return [c.strip() for c in creators.split("\n") if c.strip()]
    return None


def parse_date(value: str | None) -> str | None:
    """``D:20170403091648-04'00'`` or ``2017-04-03T...`` → ``2017-04-03`` (as far as known)."""
    if not value:
        return None
    value = value.strip()
    match = _PDF_DATE.match(value) if value.startswith("D:") else _ISO_DATE.match(value)
    if match is None:
        match = _PDF_DATE.match(value)
    if match is None:
        return None
    year, month, day = match.groups()
    if not 1000 <= int(year) <= 9999:
        return None
    parts = [year]
    if month and 1 <= int(month) <= 12:
        parts.append(month)
        if day and 1 <= int(day) <= 31:
            parts.append(day)
    return "-".join(parts)


def printed_date(text: str) -> str | None:
    """The first full date printed in the first lines of ``text`` (``2015-10-29``)."""
    head = "\n".join(text.splitlines()[:_HEAD_LINES])
    found: list[tuple[int, str]] = []
    for index, pattern in enumerate(_PRINTED_DATES):
        match = pattern.search(head)
        if match is None:
            continue
        groups = match.groups()
        if index == 0:
            month, day, year = _month(groups[0]), int(groups[1]), int(groups[2])
        elif index == 1:
            day, month, year = int(groups[0]), _month(groups[1]), int(groups[2])
        else:
            year, month, day = int(groups[0]), int(groups[1]), int(groups[2])
        if 1000 <= year <= 9999 and 1 <= month <= 12 and 1 <= day <= 31:
            found.append((match.start(), f"{year:04d}-{month:02d}-{day:02d}"))
    return min(found)[1] if found else None


def _month(name: str) -> int:
    key = name.lower().rstrip(".")[:3]
    return next(i for i, month in enumerate(_MONTHS, 1) if month.startswith(key))


def _date(meta: Mapping[str, str], pages: Any) -> str | None:
    if pages:
        printed = printed_date(getattr(pages[0], "text", "") or "")
        if printed:
            return printed
    for key in (XMP_DATE, "creationdate", "created"):
        parsed = parse_date(_text(meta, key))
        if parsed:
            return parsed
    return None


def find_arxiv_id(text: str) -> str | None:
    """The first arXiv identifier in ``text``, with its version when given."""
    found = []
    for pattern in (ARXIV_NEW, ARXIV_OLD, ARXIV_URL):
        match = pattern.search(text)
        if match:
            found.append((match.start(), match.group(1) + (match.group(2) or "")))
    return min(found)[1] if found else None


def find_doi(text: str) -> str | None:
    """The first DOI in ``text`` (trailing punctuation removed, lower-cased prefix kept)."""
    match = DOI.search(text)
    if match is None:
        return None
    doi = match.group(1).rstrip(_DOI_TAIL)
    if doi.count("(") < doi.count(")"):  # "(see 10.1000/x)" loses its closing parenthesis
        doi = doi.rstrip(")")
    return doi


def _first_pages(pages: Any, count: int = 2) -> str:
    return "\n".join(getattr(page, "text", "") or "" for page in list(pages)[:count])


def _arxiv_id(meta: Mapping[str, str], pages: Any) -> str | None:
    return find_arxiv_id(_first_pages(pages))


def _doi(meta: Mapping[str, str], pages: Any) -> str | None:
    return find_doi(_first_pages(pages)) or _text(meta, XMP_DOI)


def _free(meta: Mapping[str, str], pages: Any) -> dict[str, str] | None:
    out = {key: _text(meta, key) for key in ("subject", "keywords")}
    return {key: value for key, value in out.items() if value} or None


_READERS = (
    ("title", _title),
    ("authors", _authors),
    ("date", _date),
    ("arxiv_id", _arxiv_id),
    ("doi", _doi),
    ("fields", _free),
)
