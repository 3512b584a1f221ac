"""Object key validation: the one gate every key passes before it reaches S3 or a folder.

Rules (the same for both backends, so a key that works locally works on S3):

* a non-empty ``str`` of at most 1,024 UTF-8 bytes (S3's limit), each ``/``-separated
  segment at most 255 bytes (the usual file-name limit);
* no leading ``/`` (absolute path), no trailing ``/`` and no empty segment (``a//b``),
  no ``.`` or ``..`` segment (traversal), no backslash (a separator on Windows);
* no control characters (C0, DEL, C1 - so no NUL, newline or tab), no line or
  paragraph separators (U+2028/U+2029), no bidirectional overrides (U+202A-U+202E,
  U+2066-U+2069, used to disguise ``evil.exe`` as ``exe.pdf``) and no lone surrogates
  (not valid UTF-8).

Keys are **not** Unicode-normalised and need not be NFC. Keys arrive verbatim from S3
listings and from file names on disk; normalising them would make an object dropped
with a decomposed (NFD) name unreachable through its own listed key. The price is that
two keys that look alike may be two objects, as they are in S3 itself. Emoji and mixed
scripts are allowed.
"""

from __future__ import annotations

import unicodedata

from tidyllm.errors import InvalidKey

MAX_KEY_BYTES = 1024
MAX_SEGMENT_BYTES = 255

_BIDI_CONTROLS = frozenset(chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A)))
_FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cs", "Zl", "Zp"})


def _check_characters(text: str, what: str) -> None:
    for index, ch in enumerate(text):
        if ch == "\\":
            raise InvalidKey(f"{what} {text!r} contains a backslash at position {index}")
        if ch in _BIDI_CONTROLS or unicodedata.category(ch) in _FORBIDDEN_CATEGORIES:
            raise InvalidKey(
                f"{what} {text!r} contains the control character U+{ord(ch):04X} "
                f"at position {index}"
            )


def _check_length(text: str, what: str) -> None:
    size = len(text.encode("utf-8"))
    if size > MAX_KEY_BYTES:
        raise InvalidKey(
            f"{what} {text[:40]!r}... is {size} UTF-8 bytes long; the limit is {MAX_KEY_BYTES}"
        )


def _check_segments(text: str, segments: list[str], what: str) -> None:
    for segment in segments:
        if segment == "":
            raise InvalidKey(f"{what} {text!r} has an empty path segment (leading, trailing or //)")
        if segment in (".", ".."):
            raise InvalidKey(f"{what} {text!r} has a {segment!r} segment (path traversal)")
        if len(segment.encode("utf-8")) > MAX_SEGMENT_BYTES:
            raise InvalidKey(
                f"{what} {text[:40]!r}... has a segment longer than {MAX_SEGMENT_BYTES} bytes"
            )


def validate_key(key: object) -> str:
    """Return ``key`` unchanged if it is a safe object key, else raise :class:`InvalidKey`."""
    if not isinstance(key, str):
        raise InvalidKey(f"object key must be a str, not {type(key).__name__}")
    if not key:
        raise InvalidKey("object key is empty")
    _check_characters(key, "object key")
    _check_length(key, "object key")
    if key.startswith("/"):
        raise InvalidKey(f"object key {key!r} is absolute (starts with '/')")
    _check_segments(key, key.split("/"), "object key")
    return key


def validate_prefix(prefix: object) -> str:
    """Validate a listing prefix: ``""``, a key, a key ending in ``/``, or a partial name.

    The complete segments (those before the last ``/``) follow the key rules; the last,
    partial segment may be anything a key segment may start with (``a/.hid`` lists
    ``a/.hidden``).
    """
    if not isinstance(prefix, str):
        raise InvalidKey(f"prefix must be a str, not {type(prefix).__name__}")
    if not prefix:
        return prefix
    _check_characters(prefix, "prefix")
    _check_length(prefix, "prefix")
    if prefix.startswith("/"):
        raise InvalidKey(f"prefix {prefix!r} is absolute (starts with '/')")
    *complete, _partial = prefix.split("/")
    _check_segments(prefix, complete, "prefix")
    return prefix


def is_valid_key(key: object) -> bool:
    """True if :func:`validate_key` accepts ``key`` (for filtering foreign listings)."""
    try:
        validate_key(key)
    except InvalidKey:
        return False
    return True
