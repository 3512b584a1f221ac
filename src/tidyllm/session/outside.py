"""A polite HTTP client for outside metadata services (arXiv, Crossref).

Built by :func:`tidyllm.session.clients.outside_http_client` (the session manager's
``outside_http()``), never directly. What "polite" means here:

* requests to one host are spaced by ``min_interval`` seconds (arXiv asks for 3 s);
* a 429 or 503 is retried after its ``Retry-After`` (seconds or an HTTP date), when that
  is at most ``max_retry_after``; without one, after a short backoff;
* timeouts, connection failures and other 5xx are retried ``retries`` times;
* a body is read in pieces and refused beyond a size limit, so a hostile server cannot
  fill memory.

Every failure is an :class:`OutsideHTTPError` saying what happened in one line (the
status, the host, what to try); URLs are redacted before they are logged or shown.
"""

from __future__ import annotations

import email.utils
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from tidyllm.errors import TidyLLMError
from tidyllm.redaction import redact

log = logging.getLogger(__name__)
_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
HEAD_BYTES = 1024  # what check_head is shown (a whole first piece when shorter bodies end)


class OutsideHTTPError(TidyLLMError):
    """An outside service could not give an answer: ``kind`` says why.

    ``kind`` is ``not_found`` (404/410), ``timeout``, ``unreachable`` (connection
    failed), ``rate_limited`` (429/503 with a Retry-After longer than allowed, or still
    limited after the retries), ``too_large``, ``refused`` (another 4xx) or ``server``
    (5xx after the retries).
    """

    def __init__(self, kind: str, message: str, *, status: int | None = None, hint: str = ""):
        super().__init__(message)
        self.kind = kind
        self.status = status
        self.hint = hint


@dataclass(frozen=True)
class OutsideResponse:
    """A complete, bounded response body."""

    url: str
    status: int
    headers: Mapping[str, str]
    body: bytes


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """Seconds a ``Retry-After`` header asks for (delta-seconds or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


class OutsideHTTP:
    """Wraps one ``httpx.Client``: spacing per host, retries, Retry-After, bounded bodies."""

    def __init__(
        self,
        client: Any,
        *,
        retries: int,
        min_interval: float,
        max_retry_after: float,
        contact_email: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client = client
        self.retries = retries
        self.min_interval = min_interval
        self.max_retry_after = max_retry_after
        self.contact_email = contact_email
        self._sleep = sleep
        self._lock = threading.Lock()
        self._next: dict[str, float] = {}  # host -> earliest monotonic time of the next request

    def __repr__(self) -> str:
        return f"<OutsideHTTP retries={self.retries} min_interval={self.min_interval}>"

    def close(self) -> None:
        self.client.close()

    def _space(self, host: str, extra: float = 0.0) -> None:
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next.get(host, 0.0)) + extra
            self._next[host] = start + self.min_interval
        if start > now:
            self._sleep(start - now)

    def get(
        self,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        accept: str | None = None,
        max_bytes: int,
        check_head: Callable[[bytes], None] | None = None,
    ) -> OutsideResponse:
        """GET ``url`` and read its whole body (at most ``max_bytes``).

        ``check_head`` sees the first bytes before the rest is read (a PDF that is not a
        PDF is refused without downloading it all). Raises :class:`OutsideHTTPError`.
        """
        with self.stream(
            url, params=params, accept=accept, max_bytes=max_bytes, check_head=check_head
        ) as (response, pieces):
            body = b"".join(pieces)
        return OutsideResponse(str(response.url), response.status_code, response.headers, body)

    @contextmanager
    def stream(
        self,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        accept: str | None = None,
        max_bytes: int,
        check_head: Callable[[bytes], None] | None = None,
    ) -> Iterator[tuple[Any, Iterator[bytes]]]:
        """A successful (2xx) response and its body in bounded pieces."""
        import httpx

        host = urlsplit(url).netloc
        shown = redact(url)
        headers = {"Accept": accept} if accept else {}
        wait = 0.0
        for attempt in range(self.retries + 1):
            last = attempt == self.retries
            self._space(host, wait)
            wait = 0.0
            try:
                with self.client.stream("GET", url, params=params, headers=headers) as response:
                    status = response.status_code
                    if status < 300:
                        yield response, self._pieces(response, shown, max_bytes, check_head)
                        return
                    wait = self._failure(response, shown, last, attempt)
            except httpx.TimeoutException:
                if last:
                    raise OutsideHTTPError(
                        "timeout",
                        f"{host} did not answer in time ({shown})",
                        hint="try again later, or raise papers.timeout",
                    ) from None
                wait = min(2.0**attempt, 30.0)
            except httpx.TransportError as exc:
                if last:
                    raise OutsideHTTPError(
                        "unreachable",
                        f"cannot reach {host}: {redact(exc) or type(exc).__name__}",
                        hint="check the network and the papers.* base URLs",
                    ) from None
                wait = min(2.0**attempt, 30.0)
            log.info("retrying %s in %.1f s (attempt %d)", shown, wait, attempt + 2)
        raise AssertionError("unreachable")  # pragma: no cover - the last attempt raises

    def _failure(self, response: Any, shown: str, last: bool, attempt: int) -> float:
        """Seconds to wait before the next attempt, or raise when there is none."""
        status = response.status_code
        host = urlsplit(shown).netloc
        if status in (404, 410):
            raise OutsideHTTPError("not_found", f"{shown} was not found ({status})", status=status)
        if status not in _RETRY_STATUSES:
            raise OutsideHTTPError(
                "refused", f"{host} refused the request with HTTP {status} ({shown})", status=status
            )
        asked = retry_after_seconds(response.headers.get("Retry-After"))
        if asked is not None and asked > self.max_retry_after:
            raise OutsideHTTPError(
                "rate_limited",
                f"{host} asks to wait {asked:.0f} s (HTTP {status}), more than "
                f"papers.max_retry_after ({self.max_retry_after:.0f} s)",
                status=status,
                hint="try again later",
            )
        if last:
            kind = "rate_limited" if status in (429, 503) else "server"
            raise OutsideHTTPError(
                kind,
                f"{host} answered HTTP {status} after {attempt + 1} attempt(s) ({shown})",
                status=status,
                hint="try again later",
            )
        return asked if asked is not None else min(2.0**attempt, 30.0)

    @staticmethod
    def _pieces(
        response: Any, shown: str, max_bytes: int, check_head: Callable[[bytes], None] | None
    ) -> Iterator[bytes]:
        import httpx

        total = 0
        head = b""
        head_checked = check_head is None
        try:
            for piece in _body(response, shown):
                total += len(piece)
                if total > max_bytes:
                    raise OutsideHTTPError(
                        "too_large", f"{shown} is larger than {max_bytes:,} bytes; nothing was kept"
                    )
                if not head_checked:
                    head += piece
                    if len(head) < HEAD_BYTES:
                        continue
                    head_checked = True
                    check_head(head)  # type: ignore[misc]
                    piece, head = head, b""
                yield piece
        except httpx.TimeoutException:
            raise OutsideHTTPError(
                "timeout", f"{shown} stopped sending before the end; nothing was kept"
            ) from None
        except httpx.TransportError as exc:
            raise OutsideHTTPError(
                "unreachable", f"{shown} broke off: {redact(exc) or type(exc).__name__}"
            ) from None
        if not head_checked:
            check_head(head)  # type: ignore[misc]
            if head:
                yield head


def _body(response: Any, shown: str) -> Iterator[bytes]:
    for piece in response.iter_bytes():
        if piece:
            yield piece
