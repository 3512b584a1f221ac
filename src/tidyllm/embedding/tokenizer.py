"""The all-MiniLM-L6-v2 WordPiece tokenizer shipped with TidyLLM.

The ONNX model package carries no tokenizer, so ``assets/tokenizer.json`` (the
model's own file, Apache-2.0, see ``assets/NOTICE.txt``) ships with us. The
embedder and the chunker both load it from here, so that the chunker's token
counts are exactly the embedder's.
"""

from __future__ import annotations

from pathlib import Path

from tokenizers import Tokenizer

from tidyllm.errors import EmbeddingError

#: The shipped tokenizer file.
TOKENIZER_PATH = Path(__file__).parent / "assets" / "tokenizer.json"


def load_tokenizer(path: Path | None = None) -> Tokenizer:
    """A fresh tokenizer with truncation and padding switched off (for counting).

    The file itself says "truncate and pad to 128"; callers that need other
    settings (the embedder: truncate at 256, pad to the longest) set them on
    their own instance, so this returns a new object every time (~40 ms).
    """
    source = TOKENIZER_PATH if path is None else Path(path)
    try:
        tokenizer = Tokenizer.from_file(str(source))
    except Exception as exc:  # tokenizers raises plain Exception for bad files
        raise EmbeddingError(f"cannot load tokenizer {source}: {exc}") from exc
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return tokenizer


def clean_for_tokenizer(text: str) -> str:
    """Replace lone surrogates (which cannot cross into Rust) one-for-one with U+FFFD.

    The length is unchanged, so character offsets still point into the original.
    """
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "".join("\ufffd" if 0xD800 <= ord(ch) <= 0xDFFF else ch for ch in text)
    return text
