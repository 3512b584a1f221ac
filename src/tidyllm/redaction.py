"""Keep secrets out of every output.

Secrets are registered here the moment they are resolved (from the
environment, the credential store or a DSN). ``redact`` replaces every
registered value, any password inside a URL and any API token with ``***``. Installing
the log-record factory makes every log line and logged traceback in the
process pass through ``redact`` - including those of boto3, psycopg and
MLflow, which we do not control.
"""

from __future__ import annotations

import logging
import re
import threading
import traceback

MASK = "***"
_MIN_SECRET_LEN = 4  # shorter values would mask ordinary words
_URL_PASSWORD = re.compile(r"(?P<head>[a-zA-Z][a-zA-Z0-9+.-]*://[^/\s:@]*):(?P<pw>[^@/\s]+)@")
_DSN_PASSWORD = re.compile(r"(?P<head>\bpassword\s*=\s*)(?P<pw>'[^']*'|\S+)", re.IGNORECASE)
#: An API token (tidyllm.access.tokens): masked wherever it appears, registered or not.
_API_TOKEN = re.compile(r"\btidyllm_[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])")

_lock = threading.Lock()
_secrets: frozenset[str] = frozenset()
_installed = False


def register_secret(value: str | None) -> None:
    """Remember ``value`` as secret so ``redact`` masks it from now on."""
    global _secrets
    if not value or len(value) < _MIN_SECRET_LEN:
        return
    with _lock:
        _secrets = _secrets | {value}


def redact(text: object) -> str:
    """Return ``str(text)`` with every known secret and URL password masked."""
    out = str(text)
    # Longest first, so a secret that contains another is masked whole.
    for secret in sorted(_secrets, key=len, reverse=True):
        if secret in out:
            out = out.replace(secret, MASK)
    out = _URL_PASSWORD.sub(lambda m: f"{m['head']}:{MASK}@", out)
    out = _API_TOKEN.sub(MASK, out)
    return _DSN_PASSWORD.sub(lambda m: f"{m['head']}{MASK}", out)


class _RedactingRecord(logging.LogRecord):
    """A log record whose message and traceback are redacted when formatted."""

    def getMessage(self) -> str:
        return redact(super().getMessage())


def _record_factory(*args, **kwargs) -> logging.LogRecord:
    record = _RedactingRecord(*args, **kwargs)
    if record.exc_info and record.exc_info[0] is not None:
        # Formatter.format uses exc_text when it is set, so the traceback is redacted too.
        record.exc_text = redact("".join(traceback.format_exception(*record.exc_info)).rstrip())
    return record


def install_log_redaction() -> None:
    """Route every log record in this process through ``redact`` (idempotent)."""
    global _installed
    with _lock:
        if _installed:
            return
        logging.setLogRecordFactory(_record_factory)
        _installed = True
