"""The one interface every embedder implements.

Callers (ingestion, search) depend on this interface only, so the offline
default and the remote embedders (Bedrock Titan, OpenAI-compatible endpoints,
whose clients come from the session manager) are interchangeable. The contract
is strict on purpose: vectors from different embedders must never be mixed,
and a vector must never be made up.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

import numpy as np

from tidyllm.errors import EmbeddingError


class Embedder(ABC):
    """Turns texts into L2-normalised float32 vectors of a fixed dimension.

    Subclasses set three class or instance attributes:

    ``name``
        a stable identifier stored with every vector (e.g. ``"minilm-l6-v2-int8"``),
        so that vectors from different models are never compared;
    ``dimension``
        the vector length;
    ``max_tokens``
        the model's input window; longer texts are truncated, which is why the
        chunker keeps chunks under it.

    ``default_batch_size`` is how many texts go to the model per call when the
    caller does not say (``embed(..., batch_size=None)``): the fastest size
    differs by embedder (a CPU model wants small batches, an HTTP API large ones).
    """

    name: str
    dimension: int
    max_tokens: int
    default_batch_size: int = 32

    @abstractmethod
    def embed(self, texts: Sequence[str], *, batch_size: int | None = None) -> np.ndarray:
        """Embed ``texts`` in order, ``batch_size`` per model call (None: the default).

        Returns a float32 array of shape ``(len(texts), dimension)`` with unit-norm
        rows. An empty sequence gives shape ``(0, dimension)``; an empty string
        gives a valid (real, deterministic) vector. Raises
        :class:`~tidyllm.errors.EmbeddingError` rather than ever returning a
        random or zero vector.
        """

    def embed_query(self, text: str) -> np.ndarray:
        """Embed one search query; returns a float32 vector of shape ``(dimension,)``.

        A separate method because some models embed queries differently from
        passages; the default embeds it like any text.
        """
        if not isinstance(text, str):
            raise EmbeddingError(f"a query must be a str, not {type(text).__name__}")
        return self.embed([text])[0]


def check_texts(texts: Sequence[str], batch_size: int | None) -> list[str]:
    """Validate embedder input once, for every implementation; returns a list copy.

    A bare ``str`` is a ``Sequence[str]`` of characters: embedding each letter
    is never what the caller meant, so it is refused.
    """
    if isinstance(texts, str | bytes) or not isinstance(texts, Sequence):
        raise EmbeddingError(
            f"texts must be a sequence of str (a list), not {type(texts).__name__}"
        )
    if batch_size is not None and (
        isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1
    ):
        raise EmbeddingError(f"batch_size must be a positive int, got {batch_size!r}")
    items = list(texts)
    for position, text in enumerate(items):
        if not isinstance(text, str):
            raise EmbeddingError(f"texts[{position}] is a {type(text).__name__}, not a str")
    return items
