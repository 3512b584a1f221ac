"""Untrusted text made safe to store and print (names a client typed, client addresses)."""

from __future__ import annotations

import unicodedata


def clean_text(value: object, limit: int = 200) -> str:
    """``value`` as one line of printable text, at most ``limit`` characters.

    Why: audit rows keep what a client sent (a user name that does not exist, an address).
    PostgreSQL refuses NUL in text, control characters break terminals and log lines, and
    bidirectional overrides make a name read as another one; each becomes ``?``.
    """
    text = value if isinstance(value, str) else repr(value)
    out = "".join("?" if unicodedata.category(ch) in ("Cc", "Cf", "Cs") else ch for ch in text)
    return out if len(out) <= limit else out[: limit - 1] + "…"
