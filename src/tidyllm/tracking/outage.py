"""Tell an MLflow outage from a real error, and detect outages quickly.

An outage (server down, refused, timed out, overloaded, 5xx, a locked local
database) means "buffer the run and try later". Anything else - a rejected
value, a permission problem - is a real error and is raised.

MLflow's HTTP client retries a failing request 7 times with exponential
backoff and waits up to 120 s per attempt by default: several minutes before
an outage surfaces. It reads its settings from the environment on every
request and has no per-client switch, so :func:`apply_fail_fast_env` sets
them for this process - only where the operator has not set them already.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import requests
import urllib3
from mlflow.exceptions import MlflowException

#: What the tracker sets unless the environment already says otherwise:
#: no retries (a failed run is buffered and replayed, nothing is lost), 5 s
#: for connect and for each read. A refused connection fails in milliseconds;
#: a black-holed host in at most 5 s per request.
FAIL_FAST_ENV: dict[str, str] = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "0",
    "MLFLOW_HTTP_REQUEST_BACKOFF_JITTER": "0",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "5",
}

_OUTAGE_CODES = frozenset(
    {"TEMPORARILY_UNAVAILABLE", "REQUEST_LIMIT_EXCEEDED", "INTERNAL_ERROR", "DEADLINE_EXCEEDED"}
)
_REJECTION_CODES = frozenset({"INVALID_PARAMETER_VALUE", "BAD_REQUEST", "MALFORMED_REQUEST"})
_TRANSPORT_ERRORS = (
    requests.exceptions.ConnectionError,
    requests.exceptions.Timeout,
    requests.exceptions.RetryError,
    urllib3.exceptions.HTTPError,
    ConnectionError,
    TimeoutError,
)


def apply_fail_fast_env() -> None:
    """Make MLflow's HTTP client give up within seconds (keeps values already set)."""
    for name, value in FAIL_FAST_ENV.items():
        os.environ.setdefault(name, value)


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def is_outage(exc: BaseException) -> bool:
    """True if ``exc`` means MLflow could not be reached or could not serve us right now."""
    for err in _chain(exc):
        if isinstance(err, _TRANSPORT_ERRORS):
            return True
        if isinstance(err, requests.exceptions.HTTPError) and err.response is not None:
            status = err.response.status_code
            return status >= 500 or status == 429
        if isinstance(err, MlflowException) and (
            err.error_code in _OUTAGE_CODES or err.get_http_status_code() >= 500
        ):
            return True
    return False


def is_rejection(exc: BaseException) -> bool:
    """True if MLflow refused this run's content (so retrying the same run cannot help)."""
    return isinstance(exc, MlflowException) and exc.error_code in _REJECTION_CODES
