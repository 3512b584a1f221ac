"""Key validation: hostile keys are refused with a clear InvalidKey; real names pass."""

from __future__ import annotations

import pytest

from tidyllm.errors import InvalidKey
from tidyllm.objectstore import is_valid_key, validate_key, validate_prefix

HOSTILE = {
    "../x": "traversal",
    "a/../b": "traversal",
    "a/./b": "traversal",
    ".": "traversal",
    "/abs": "absolute",
    "a\x00b": "U+0000",
    "a\nb": "U+000A",
    "a\tb": "U+0009",
    "a\x7fb": "U+007F",
    "a\x85b": "U+0085",
    "a\u2028b": "U+2028",
    "a\u202eb.pdf": "U+202E",
    "a\\b": "backslash",
    "a//b": "empty path segment",
    "a/": "empty path segment",
    "": "empty",
    "x" * 1025: "1025 UTF-8 bytes",
    "é" * 513: "1026 UTF-8 bytes",
    "a/" + "y" * 256: "longer than 255",
    "a\ud800b": "U+D800",
}


@pytest.mark.parametrize("key", list(HOSTILE), ids=repr)
def test_hostile_keys_are_refused_with_a_reason(key):
    with pytest.raises(InvalidKey) as info:
        validate_key(key)
    assert HOSTILE[key] in str(info.value)
    assert not is_valid_key(key)


@pytest.mark.parametrize(
    "key",
    [
        "a",
        "incoming/report 2024 (final).pdf",
        "données/résumé.docx",
        "写真/東京-🗼.jpg",
        "mixed/Ελληνικά-русский-עברית.txt",
        "family/👨‍👩‍👧.png",  # emoji ZWJ sequence
        ".hidden",
        "..dots-in-name..",
        "x" * 255 + "/" + "y" * 255,
        "a/" * 511 + "b",  # 1,024 bytes exactly
        "e\u0301",  # NFD is kept as given (not normalised)
    ],
    ids=repr,
)
def test_real_names_are_allowed_unchanged(key):
    assert validate_key(key) == key


def test_non_string_key_is_refused():
    with pytest.raises(InvalidKey, match="must be a str"):
        validate_key(b"bytes")


@pytest.mark.parametrize("prefix", ["", "a", "a/", "a/b", "a/.hid", "a/..x", "incoming/2024-"])
def test_listing_prefixes(prefix):
    assert validate_prefix(prefix) == prefix


@pytest.mark.parametrize("prefix", ["../", "a/../b", "/a", "a//", "a\nb", "a\\"], ids=repr)
def test_hostile_prefixes_are_refused(prefix):
    with pytest.raises(InvalidKey):
        validate_prefix(prefix)
