"""The polite client on its own, against the loopback double: it identifies itself, spaces
requests to one host, reads Retry-After in both forms, and refuses bodies over the limit."""

from __future__ import annotations

import email.utils
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from paper_service_doubles import PaperServiceDouble
from tidyllm.session.clients import outside_http_client
from tidyllm.session.outside import OutsideHTTPError, retry_after_seconds
from tidyllm.settings import Settings


def test_retry_after_in_seconds_and_as_an_http_date():
    assert retry_after_seconds("7") == 7.0
    when = email.utils.formatdate(1_000_060, usegmt=True)
    assert retry_after_seconds(when, now=1_000_000) == 60.0
    assert retry_after_seconds("soon") is None and retry_after_seconds(None) is None


def test_requests_are_spaced_identified_and_bounded():
    with PaperServiceDouble() as double:
        double.pdfs["2410.11842v1"] = b"%PDF-1.7\n" + b"x" * 5000
        settings = Settings(papers=double.settings(min_interval=30.0))
        http = outside_http_client(settings)
        slept: list[float] = []
        http._sleep = slept.append  # the spacing asked for, not waited here
        try:
            url = f"{double.url}/pdf/2410.11842v1"
            assert http.get(url, max_bytes=10_000).body.startswith(b"%PDF")
            http.get(url, max_bytes=10_000)
            assert len(slept) == 1 and 29.0 < slept[0] <= 30.0  # the second waited its turn
            agent = http.client.headers["User-Agent"]
            assert agent.startswith("TidyLLM/") and "mailto:librarian@example.org" in agent
            with pytest.raises(OutsideHTTPError, match="larger than 1,000 bytes") as caught:
                http.get(url, max_bytes=1_000)
            assert caught.value.kind == "too_large"
        finally:
            http.close()
