"""One tracked run, validated and redacted before it goes anywhere.

Every run is checked against MLflow's own limits *here*, in the process that
made it, so that bad input fails at once with a clear :class:`InvalidRunData`
instead of sitting in the disk buffer and being rejected by the server hours
later. Every param value, tag value, run name and text artifact passes through
:func:`tidyllm.redaction.redact` here too: nothing that leaves this module
(to MLflow or to the buffer) can still hold a registered secret.
"""

from __future__ import annotations

import numbers
import os
import posixpath
import re
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from tidyllm.errors import InvalidRunData
from tidyllm.redaction import redact

# MLflow's limits (mlflow.utils.validation), repeated so we fail before sending.
MAX_KEY_LENGTH = 250
MAX_PARAM_VALUE_LENGTH = 6000
MAX_TAG_VALUE_LENGTH = 8000
MAX_EXPERIMENT_NAME_LENGTH = 500
MAX_ARTIFACT_PATH_LENGTH = 1000
MAX_ARTIFACT_SEGMENT_LENGTH = 255

# Tags the tracker sets itself; callers may not set them.
RUN_KEY_TAG = "tidyllm.run_key"
REPLAYED_TAG = "tidyllm.replayed"
RESERVED_TAGS = frozenset({RUN_KEY_TAG, REPLAYED_TAG, "mlflow.runName"})

_KEY_CHARS = re.compile(r"^[/\w.\- :]+$")
_RUN_KEY = re.compile(r"^[0-9]{20}-[0-9a-f]{12}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def new_run_key() -> str:
    """A unique, time-ordered run key: sorting keys sorts runs by creation time."""
    return f"{time.time_ns():020d}-{uuid.uuid4().hex[:12]}"


def is_run_key(value: str) -> bool:
    """True if ``value`` is shaped like :func:`new_run_key`'s keys (safe in filters and paths)."""
    return bool(_RUN_KEY.match(value))


@dataclass(frozen=True)
class PreparedRun:
    """A complete run, ready to send or to buffer: every value already validated and redacted."""

    run_key: str
    experiment: str
    time_ms: int
    run_name: str | None = None
    params: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    artifacts: dict[str, bytes] = field(default_factory=dict)


def prepare_run(
    *,
    experiment: str,
    run_name: object | None,
    params: Mapping[str, object],
    metrics: Mapping[str, object],
    tags: Mapping[str, object],
    artifacts: Mapping[str, bytes | str | os.PathLike[str]],
    run_key: str | None = None,
    time_ms: int | None = None,
) -> PreparedRun:
    """Validate and redact one run; raise :class:`InvalidRunData` naming the bad field."""
    check_experiment_name(experiment)
    key = new_run_key() if run_key is None else run_key
    if not is_run_key(key):
        raise InvalidRunData(f"run key {redact(key)!r} is malformed")
    when = int(time.time() * 1000) if time_ms is None else time_ms
    if not isinstance(when, int) or isinstance(when, bool) or when < 0:
        raise InvalidRunData(f"run time {when!r} is not a non-negative integer of milliseconds")
    name = None
    if run_name is not None:
        name = _value("run name", "run_name", run_name, MAX_TAG_VALUE_LENGTH)
    return PreparedRun(
        run_key=key,
        experiment=experiment,
        time_ms=when,
        run_name=name,
        params={
            _key("param", k): _value("param", k, v, MAX_PARAM_VALUE_LENGTH)
            for k, v in _items("params", params)
        },
        metrics={_key("metric", k): _metric(k, v) for k, v in _items("metrics", metrics)},
        tags={
            _tag_key(k): _value("tag", k, v, MAX_TAG_VALUE_LENGTH) for k, v in _items("tags", tags)
        },
        artifacts=_artifacts(artifacts),
    )


def check_experiment_name(name: object) -> None:
    """Raise :class:`InvalidRunData` unless ``name`` is a usable MLflow experiment name."""
    if not isinstance(name, str) or not name.strip():
        raise InvalidRunData("the experiment name must be a non-empty string")
    if len(name) > MAX_EXPERIMENT_NAME_LENGTH or _CONTROL.search(name):
        raise InvalidRunData(
            f"experiment name {redact(name)[:80]!r} is longer than {MAX_EXPERIMENT_NAME_LENGTH}"
            " characters or holds control characters"
        )


def _items(what: str, mapping: object) -> list[tuple[object, object]]:
    if not isinstance(mapping, Mapping):
        raise InvalidRunData(
            f"{what} must be a mapping of name to value, not {type(mapping).__name__}"
        )
    return list(mapping.items())


def _key(kind: str, key: object) -> str:
    """Check a param/metric/tag name the way MLflow does, without echoing a secret."""
    if not isinstance(key, str) or not key:
        raise InvalidRunData(f"{kind} name {redact(key)!r} must be a non-empty string")
    shown = redact(key)
    if shown != key:
        raise InvalidRunData(f"{kind} name {shown!r} contains a secret")
    if len(key) > MAX_KEY_LENGTH:
        raise InvalidRunData(
            f"{kind} name {key[:40]!r}... is longer than {MAX_KEY_LENGTH} characters"
        )
    if not _KEY_CHARS.match(key):
        raise InvalidRunData(
            f"{kind} name {key!r} may only hold letters, digits, '_', '-', '.', ' ', ':' and '/'"
        )
    norm = posixpath.normpath(key)
    if norm != key or norm == "." or norm.startswith(("..", "/")):
        raise InvalidRunData(f"{kind} name {key!r} is not a normalised relative name")
    return key


def _tag_key(key: object) -> str:
    checked = _key("tag", key)
    if checked in RESERVED_TAGS:
        raise InvalidRunData(f"tag {checked!r} is set by the tracker and may not be given")
    return checked


def _value(kind: str, key: object, value: object, limit: int) -> str:
    text = redact(value)
    if len(text) > limit:
        raise InvalidRunData(
            f"{kind} {redact(key)!r} is {len(text)} characters; MLflow allows {limit}"
        )
    return text


def _metric(key: object, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidRunData(f"metric {redact(key)!r} must be a number, not {type(value).__name__}")
    try:
        return float(value)  # NaN and infinities are allowed: MLflow stores them
    except (OverflowError, ValueError) as exc:
        raise InvalidRunData(f"metric {redact(key)!r} does not fit a 64-bit float") from exc


def check_artifact_name(name: object) -> str:
    """Artifact names are relative POSIX paths inside the run: no traversal, no oddities."""
    if not isinstance(name, str) or not name:
        raise InvalidRunData(f"artifact name {redact(name)!r} must be a non-empty string")
    shown = redact(name)
    if shown != name:
        raise InvalidRunData(f"artifact name {shown!r} contains a secret")
    bad = (
        len(name) > MAX_ARTIFACT_PATH_LENGTH
        or _CONTROL.search(name)
        or "\\" in name
        or name.startswith("/")
        or any(
            part in ("", ".", "..") or len(part) > MAX_ARTIFACT_SEGMENT_LENGTH
            for part in name.split("/")
        )
    )
    if bad:
        raise InvalidRunData(
            f"artifact name {name[:80]!r} must be a relative path of plain segments"
            " (no '..', '.', empty, absolute or backslash parts, no control characters)"
        )
    return name


def _artifacts(artifacts: object) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    for name, content in _items("artifacts", artifacts):
        checked = check_artifact_name(name)
        out[checked] = redact_bytes(checked, _read_content(checked, content))
    names = set(out)
    for name in names:
        parts = name.split("/")
        for i in range(1, len(parts)):
            if "/".join(parts[:i]) in names:
                raise InvalidRunData(
                    f"artifact {name!r} would sit inside artifact {'/'.join(parts[:i])!r}"
                )
    return out


def _read_content(name: str, content: object) -> bytes:
    if isinstance(content, bytes | bytearray | memoryview):
        return bytes(content)
    if isinstance(content, str):
        return content.encode("utf-8")
    if isinstance(content, os.PathLike):
        path = Path(content)
        if not path.is_file():
            raise InvalidRunData(f"artifact {name!r}: {redact(path)} is not a readable file")
        try:
            return path.read_bytes()
        except OSError as exc:
            raise InvalidRunData(
                f"artifact {name!r}: cannot read {redact(path)}: {redact(exc)}"
            ) from exc
    raise InvalidRunData(
        f"artifact {name!r} must be bytes, str or a path, not {type(content).__name__}"
    )


def redact_bytes(name: str, data: bytes) -> bytes:
    """Redact UTF-8 text; refuse binary content that holds a secret (masking would corrupt it)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raw = data.decode("latin-1")  # lossless byte-to-char view, to search for secrets
        if redact(raw) != raw:
            raise InvalidRunData(
                f"artifact {name!r} is binary and contains a secret; refusing to log it"
            ) from None
        return data
    cleaned = redact(text)
    return data if cleaned == text else cleaned.encode("utf-8")
