"""Text embedders: the interface and the default offline MiniLM embedder.

The default, :class:`MiniLMEmbedder`, runs all-MiniLM-L6-v2 (int8 ONNX) with
onnxruntime and the model's own WordPiece tokenizer, offline and without torch.
Remote embedders (Bedrock Titan, OpenAI-compatible) implement the same
:class:`Embedder` interface and get their clients from the session manager.

Names are imported on first use, so importing the package (or its tokenizer,
as the chunker does) does not load numpy or onnxruntime.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tidyllm.embedding.base import Embedder
    from tidyllm.embedding.minilm import MiniLMEmbedder
    from tidyllm.embedding.tokenizer import TOKENIZER_PATH, load_tokenizer

_WHERE = {
    "Embedder": "tidyllm.embedding.base",
    "MiniLMEmbedder": "tidyllm.embedding.minilm",
    "TOKENIZER_PATH": "tidyllm.embedding.tokenizer",
    "load_tokenizer": "tidyllm.embedding.tokenizer",
}


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'tidyllm.embedding' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(_WHERE[name]), name)


__all__ = ["TOKENIZER_PATH", "Embedder", "MiniLMEmbedder", "load_tokenizer"]
