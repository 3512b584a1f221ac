"""TEST DOUBLE: arXiv (API and PDFs) and Crossref on loopback, for the papers import tests.

There is no internet here, so a real HTTP server stands in for the outside services and
answers in their recorded formats: an Atom feed as ``export.arxiv.org/api/query`` gives
it (``<feed>``, one ``<entry>`` with ``<id>http://arxiv.org/abs/ID``, ``<title>`` with its
line breaks, ``<author><name>``, ``<summary>``, ``<published>``, ``<arxiv:doi>``,
``<arxiv:primary_category>``), a PDF as ``arxiv.org/pdf/ID`` gives it, and a Crossref
``/works/{doi}`` JSON record (``{"status": "ok", "message": {...}}``). The client code
under test (its retries, Retry-After, size and type checks, parsing) stays real.

Faults are chosen per identifier with :attr:`PaperServiceDouble.faults`: ``missing``
(404), ``limited`` (429 with ``Retry-After: 1``; a request before that second is over
gets another 429, so only a client that waited succeeds), ``malformed`` (a feed that is
not XML), ``not_pdf`` (an HTML page where the PDF should be), ``slow`` (an answer later
than any test timeout). Every request is recorded in :attr:`requests`.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from xml.sax.saxutils import escape


def atom_feed(paper: dict[str, Any]) -> bytes:
    """An arXiv API answer with one entry, in the API's format."""
    authors = "".join(
        f"<author><name>{escape(a)}</name></author>" for a in paper.get("authors", [])
    )
    doi = f"<arxiv:doi>{escape(paper['doi'])}</arxiv:doi>" if paper.get("doi") else ""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/"
      xmlns:arxiv="http://arxiv.org/schemas/atom">
  <id>https://arxiv.org/api/abc</id>
  <title>arXiv Query: search_query=&amp;id_list={escape(paper["id"])}</title>
  <updated>2024-10-16T00:00:00Z</updated>
  <opensearch:totalResults>1</opensearch:totalResults>
  <entry>
    <id>http://arxiv.org/abs/{escape(paper["id"])}</id>
    <updated>2024-10-16T17:59:59Z</updated>
    <published>{paper.get("published", "2024-10-15T17:59:59Z")}</published>
    <title>{escape(paper["title"])}</title>
    <summary>{escape(paper.get("abstract", ""))}</summary>
    {authors}
    {doi}
    <link href="http://arxiv.org/abs/{escape(paper["id"])}" rel="alternate" type="text/html"/>
    <link title="pdf" href="http://arxiv.org/pdf/{escape(paper["id"])}" rel="related"/>
    <arxiv:primary_category term="cs.CL" scheme="http://arxiv.org/schemas/atom"/>
  </entry>
</feed>""".encode()


EMPTY_FEED = b"""<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><id>https://arxiv.org/api/x</id>
<title>arXiv Query</title></feed>"""


def crossref_work(work: dict[str, Any]) -> bytes:
    """A Crossref ``/works/{doi}`` answer, in Crossref's format."""
    message = {
        "DOI": work["doi"],
        "URL": f"https://doi.org/{work['doi']}",
        "title": [work["title"]],
        "author": [
            {"given": a.split()[0], "family": a.split()[-1], "sequence": "first"}
            for a in work.get("authors", [])
        ],
        "issued": {"date-parts": [work.get("date_parts", [2021, 3, 4])]},
        "container-title": [work.get("journal", "Journal of Tests")],
        "abstract": "<jats:p>" + work.get("abstract", "An abstract.") + "</jats:p>",
        "type": "journal-article",
    }
    return json.dumps({"status": "ok", "message-type": "work", "message": message}).encode()


class PaperServiceDouble:
    """arXiv and Crossref on ``http://127.0.0.1:PORT`` (``/api``, ``/pdf``, ``/crossref``)."""

    def __init__(self) -> None:
        self.papers: dict[str, dict[str, Any]] = {}  # arXiv id (with version) -> fields
        self.pdfs: dict[str, bytes] = {}  # arXiv id (with version) -> PDF bytes
        self.works: dict[str, dict[str, Any]] = {}  # DOI -> fields
        self.faults: dict[str, str] = {}  # id or DOI -> missing/limited/malformed/not_pdf/slow
        self.requests: list[tuple[str, int]] = []  # (path, status)
        self._limited_until: dict[str, float] = {}
        self._lock = threading.Lock()
        double = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                status, headers, body = double.answer(self.path)
                with double._lock:
                    double.requests.append((self.path, status))
                if status == -1:  # slow: never answer in time
                    time.sleep(5)
                    status, body = 200, EMPTY_FEED
                try:
                    self.send_response(status)
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def settings(self, **extra: Any) -> dict[str, Any]:
        """``papers`` settings pointing at this double (fast: no spacing, short timeout)."""
        return {
            "arxiv_api_url": f"{self.url}/api",
            "arxiv_pdf_url": f"{self.url}/pdf",
            "crossref_url": f"{self.url}/crossref",
            "timeout": 1.0,
            "retries": 2,
            "min_interval": 0.0,
            "max_retry_after": 5.0,
            "contact_email": "librarian@example.org",
            **extra,
        }

    def __enter__(self) -> PaperServiceDouble:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _fault(self, key: str) -> tuple[int, dict[str, str], bytes] | None:
        fault = self.faults.get(key)
        if fault == "missing":
            return 404, {"Content-Type": "text/plain"}, b"not found"
        if fault == "slow":
            return -1, {}, b""
        if fault == "limited":
            with self._lock:
                until = self._limited_until.get(key)
                now = time.monotonic()
                if until is None or now < until:
                    if until is None:
                        self._limited_until[key] = now + 1.0
                    return 429, {"Retry-After": "1", "Content-Type": "text/plain"}, b"slow down"
        return None

    def answer(self, path: str) -> tuple[int, dict[str, str], bytes]:
        parsed = urllib.parse.urlsplit(path)
        if parsed.path == "/api/query":
            arxiv_id = urllib.parse.parse_qs(parsed.query).get("id_list", [""])[0]
            fault = self._fault(arxiv_id)
            if fault:
                return fault
            if self.faults.get(arxiv_id) == "malformed":
                return 200, {"Content-Type": "application/atom+xml"}, b"<feed><entry><title>cut"
            paper = next(
                (p for k, p in self.papers.items() if k == arxiv_id or k.split("v")[0] == arxiv_id),
                None,
            )
            body = atom_feed(paper) if paper else EMPTY_FEED
            return 200, {"Content-Type": "application/atom+xml"}, body
        if parsed.path.startswith("/pdf/"):
            arxiv_id = parsed.path[len("/pdf/") :]
            fault = self._fault(f"pdf:{arxiv_id}")
            if fault:
                return fault
            if self.faults.get(f"pdf:{arxiv_id}") == "not_pdf":
                return 200, {"Content-Type": "text/html"}, b"<html>Access denied</html>"
            if arxiv_id in self.pdfs:
                return 200, {"Content-Type": "application/pdf"}, self.pdfs[arxiv_id]
            return 404, {}, b"no pdf"
        if parsed.path.startswith("/crossref/works/"):
            doi = urllib.parse.unquote(parsed.path[len("/crossref/works/") :])
            fault = self._fault(doi)
            if fault:
                return fault
            if doi in self.works:
                return 200, {"Content-Type": "application/json"}, crossref_work(self.works[doi])
            return 404, {"Content-Type": "text/plain"}, b"Resource not found."
        return 404, {}, b""
