"""Text embedders: the interface and the default offline MiniLM embedder.

The default, :class:`MiniLMEmbedder`, runs all-MiniLM-L6-v2 (int8 ONNX) with
onnxruntime and the model's own WordPiece tokenizer, offline and without torch.
Remote embedders (Bedrock Titan, OpenAI-compatible) implement the same
:class:`Embedder` interface and get their clients from the session manager.
"""

from __future__ import annotations

from tidyllm.embedding.base import Embedder
from tidyllm.embedding.minilm import MiniLMEmbedder
from tidyllm.embedding.tokenizer import TOKENIZER_PATH, load_tokenizer

__all__ = ["TOKENIZER_PATH", "Embedder", "MiniLMEmbedder", "load_tokenizer"]
