"""One JSON error shape for every failure: ``{"error": {"code", "message", "hint"}}``.

The project's error hierarchy is mapped here once; anything else becomes a 500
that says only "internal error" (the cause goes to the server log, redacted), so
no stack trace or secret ever reaches a client.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from tidyllm import errors
from tidyllm.knowledge.collections import CollectionExists, CollectionNotFound
from tidyllm.redaction import redact

log = logging.getLogger(__name__)

# Most specific first: the first class an error is an instance of decides its status.
STATUS: tuple[tuple[type[Exception], int], ...] = (
    (errors.AuthError, 401),
    (errors.PermissionDenied, 403),
    (errors.DomainNotFound, 404),
    (errors.DocumentNotFound, 404),
    (errors.ChatSessionNotFound, 404),
    (errors.OriginalNotKept, 404),
    (errors.ZoneNotFound, 404),
    (errors.LedgerFileNotFound, 404),
    (errors.FileStateConflict, 409),
    (errors.NotReindexable, 409),
    (errors.ObjectNotFound, 404),
    (CollectionNotFound, 404),
    (CollectionExists, 409),
    (errors.DomainExists, 409),
    (errors.ObjectExists, 409),
    (errors.DomainEmpty, 409),
    (errors.ObjectTooLarge, 413),
    (errors.ServiceUnavailable, 503),
    (errors.AccessError, 400),
    (errors.SearchError, 400),
    (errors.KnowledgeError, 400),
    (errors.TidyLLMError, 500),
)


def error_code(exc: BaseException) -> str:
    """``DomainNotFound`` -> ``domain_not_found``: stable, readable, no internals."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", type(exc).__name__).lower()


def error_responses(*documented: tuple[int, str]) -> dict[int | str, dict[str, Any]]:
    """A router's OpenAPI ``responses``: these statuses, each in the one error shape."""
    from tidyllm.server.models import ErrorBody

    return {status: {"model": ErrorBody, "description": text} for status, text in documented}


def body(code: str, message: str, hint: str = "") -> dict[str, dict[str, str]]:
    return {"error": {"code": code, "message": message, "hint": hint}}


def status_of(exc: errors.TidyLLMError) -> int:
    return next(status for cls, status in STATUS if isinstance(exc, cls))


def described(exc: BaseException, where: str) -> tuple[int, dict[str, dict[str, str]]]:
    """The status and the one-shape body for ``exc``: a response, or an SSE ``error`` event
    once a stream has started. 5xx causes go to the server log (redacted), never out."""
    if not isinstance(exc, errors.TidyLLMError):
        log.error("%s crashed: %s", where, redact(exc), exc_info=exc)
        return 500, body("internal", "internal error; see the server log")
    status = status_of(exc)
    if status >= 500:
        log.error("%s failed: %s", where, redact(exc))
    message = redact(getattr(exc, "message", exc))  # AccessError keeps message and hint apart
    hint = redact(getattr(exc, "hint", ""))
    return status, body(error_code(exc), message, hint)


async def _library_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, errors.TidyLLMError)
    status, content = described(exc, f"{request.method} {request.url.path}")
    return JSONResponse(content, status)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 400 and isinstance(exc.__cause__, UnicodeDecodeError):
        # FastAPI's "error parsing the body" for a JSON body that is not UTF-8: a 422 like
        # any other malformed JSON (the routes document 422 for bodies, not 400)
        return JSONResponse(
            body("invalid_request", "body: not UTF-8 JSON", "send a UTF-8 JSON body"), 422
        )
    code = {401: "unauthenticated", 404: "not_found", 405: "method_not_allowed"}.get(
        exc.status_code, "http_error"
    )
    return JSONResponse(
        body(code, str(exc.detail)), exc.status_code, headers=getattr(exc, "headers", None)
    )


async def _invalid_request(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = [
        f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', 'invalid')}"
        for e in exc.errors()[:5]
    ]
    return JSONResponse(
        body("invalid_request", "; ".join(problems), "see /api/v1/openapi.json for the schema"),
        422,
    )


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    status, content = described(exc, f"{request.method} {request.url.path}")
    return JSONResponse(content, status)


def install(app: FastAPI) -> None:
    """Register the mapping on ``app``."""
    app.add_exception_handler(errors.TidyLLMError, _library_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(Exception, _unexpected)
