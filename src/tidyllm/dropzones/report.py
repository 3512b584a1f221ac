"""Reports people read: per-file processing reports, error sidecars, batch reports.

Everything passes through :func:`tidyllm.redaction.redact` before it is written,
and nothing quotes a document's content.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from tidyllm.redaction import redact


def _dumps(data: Mapping[str, Any]) -> bytes:
    text = json.dumps(data, indent=2, sort_keys=True, ensure_ascii=True, default=str)
    return (redact(text) + "\n").encode()


def file_report_json(report: Mapping[str, Any]) -> bytes:
    """The per-file processing report as JSON."""
    return _dumps(report)


def file_report_markdown(report: Mapping[str, Any]) -> bytes:
    """The per-file processing report as Markdown."""
    lines = [
        f"# Processing report: {report.get('key')!r}",
        "",
        f"- zone: `{report.get('zone')}`",
        f"- ledger id: {report.get('file_id')}",
        f"- size: {report.get('size')} bytes",
        f"- sha256: `{report.get('sha256')}`",
        "",
        "## Steps",
        "",
    ]
    for name, result in (report.get("steps") or {}).items():
        lines.append(f"### {name}")
        lines.append("")
        for key, value in sorted(result.items()):
            lines.append(f"- {key}: {value}")
        lines.append("")
    return redact("\n".join(lines) + "\n").encode()


def error_record(
    *,
    zone: str,
    key: str,
    file_id: int,
    code: str,
    message: str,
    hint: str,
    attempts: int,
    kind: str = "file",
) -> bytes:
    """The ``<name>.error.json`` sidecar: what went wrong and what to do.

    ``retry`` is a command that works for this file: ``tidyllm zones retry ID``
    only when retrying can succeed (the file can be moved back and the cause
    may be outside the file); otherwise how to drop a fixed copy.
    """
    return _dumps(
        {
            "zone": zone,
            "original_name": key,
            "ledger_id": file_id,
            "error": code,
            "message": message,
            "what_to_do": hint or _default_hint(code),
            "attempts": attempts,
            "retry": retry_command(zone=zone, file_id=file_id, code=code, kind=kind),
        }
    )


# The file itself is the problem: processing the same bytes again fails the same way.
NOT_RETRYABLE = frozenset(
    {
        "empty",
        "corrupt",
        "encrypted",
        "unsupported_type",
        "mislabelled",
        "zip_bomb",
        "invalid_name",
        "symlink",
        "not_a_file",
    }
)


def is_retryable(code: str, kind: str = "file") -> bool:
    """True when ``tidyllm zones retry`` can move the file back and it may then succeed.

    Files that are not plain files with a storable name (``kind`` other than
    ``file``) are refused by retry; files whose content is the problem would
    fail again.
    """
    return kind == "file" and code not in NOT_RETRYABLE


def retry_command(*, zone: str, file_id: int, code: str, kind: str = "file") -> str:
    """The command to run next for a failed file (one that works for this file)."""
    if is_retryable(code, kind):
        return f"tidyllm zones retry {file_id}"
    what = "rename the file" if kind != "file" else "fix the file"
    return f"not retryable as is: {what} and drop it again (tidyllm drop FILE --zone {zone})"


_HINTS = {
    "invalid_name": "Rename the file to a plain name (no control characters, backslashes, "
    "'..' segments, and at most 255 bytes per segment) and drop it again; its copy in failed/ "
    "cannot be retried under its old name.",
    "symlink": "Symbolic links are never followed. Copy the file itself into the zone.",
    "not_a_file": "Only regular files can be processed. Drop the file itself.",
    "type_not_allowed": "This zone does not accept this file type; use another zone.",
    "too_large": "Split the file or raise the zone's max_file_size_mb.",
    "dead": "The file kept failing with temporary errors; check the services, then retry it.",
}


def _default_hint(code: str) -> str:
    return _HINTS.get(code, "Fix the file and drop it again, or retry it once the cause is fixed.")


def batch_report(summary: Mapping[str, Any]) -> bytes:
    """The worker batch report logged to MLflow as an artifact."""
    return _dumps(summary)
