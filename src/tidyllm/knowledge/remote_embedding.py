"""Remote embedders behind the :class:`~tidyllm.embedding.Embedder` interface.

``BedrockTitanEmbedder`` calls Amazon Titan Text Embeddings (v2) through
``InvokeModel``; ``OpenAICompatibleEmbedder`` calls ``POST /embeddings`` on any
OpenAI-compatible endpoint. Both are handed their client by the session
manager (``sm.embedder()`` with ``embedder.provider`` = ``bedrock`` /
``openai``); they never build one. Vectors are L2-normalised here, so cosine
search behaves the same whatever the provider returns, and a reply with the
wrong shape is an error, never a made-up vector.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import numpy as np

from tidyllm.embedding.base import Embedder, check_texts
from tidyllm.errors import EmbeddingError, ServiceUnavailable
from tidyllm.redaction import redact

TITAN_V2 = "amazon.titan-embed-text-v2:0"
TITAN_DIMENSIONS = (256, 512, 1024)


def _normalised(rows: list[list[float]], dimension: int | None, who: str) -> np.ndarray:
    array = np.asarray(rows, dtype=np.float32)
    if array.ndim != 2 or (dimension is not None and array.shape[1] != dimension):
        raise EmbeddingError(f"{who} returned vectors of shape {array.shape}, not (n, {dimension})")
    norms = np.linalg.norm(array, axis=1, keepdims=True)
    if not np.all(np.isfinite(array)) or np.any(norms == 0):
        raise EmbeddingError(f"{who} returned a zero or non-finite vector")
    return array / norms


class BedrockTitanEmbedder(Embedder):
    """Amazon Titan Text Embeddings v2 (one text per request, as the API takes)."""

    max_tokens = 8192

    def __init__(self, client: Any, model: str | None = None, dimension: int = 1024) -> None:
        if dimension not in TITAN_DIMENSIONS:
            raise EmbeddingError(f"Titan v2 dimensions are {TITAN_DIMENSIONS}, not {dimension}")
        self.client = client
        self.model = model or TITAN_V2
        self.dimension = dimension
        self.name = f"bedrock:{self.model}:{dimension}"

    def embed(self, texts: Sequence[str], *, batch_size: int | None = None) -> np.ndarray:
        items = check_texts(texts, batch_size)  # Titan takes one text per request
        rows = [self._one(text) for text in items]
        if not rows:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return _normalised(rows, self.dimension, "Bedrock Titan")

    def _one(self, text: str) -> list[float]:
        body = json.dumps(
            {"inputText": text or " ", "dimensions": self.dimension, "normalize": True}
        )
        try:
            response = self.client.invoke_model(
                modelId=self.model,
                body=body,
                contentType="application/json",
                accept="application/json",
            )
            payload = json.loads(response["body"].read())
        except (KeyError, ValueError) as exc:
            raise EmbeddingError("Bedrock Titan returned a malformed reply") from exc
        except Exception as exc:  # botocore errors: throttling after adaptive retries, access
            response = getattr(exc, "response", None)
            code = response.get("Error", {}).get("Code", "") if isinstance(response, dict) else ""
            if code in ("ThrottlingException", "ServiceUnavailableException", ""):
                raise ServiceUnavailable("Bedrock", redact(exc)) from exc
            raise EmbeddingError(f"Bedrock refused the embedding request ({code})") from exc
        vector = payload.get("embedding")
        if not isinstance(vector, list):
            raise EmbeddingError("Bedrock Titan returned no embedding")
        return vector


class OpenAICompatibleEmbedder(Embedder):
    """``POST /embeddings`` on an OpenAI-compatible endpoint, ``batch_size`` texts per request.

    The dimension is learnt from the first reply (one short probe request when
    it is asked for before any text was embedded) and then enforced.
    """

    max_tokens = 8192
    default_batch_size = 64  # texts per HTTP request

    def __init__(self, client: Any, model: str | None) -> None:
        if not model:
            raise EmbeddingError("embedder.model must be set for the openai provider")
        self.client = client
        self.model = model
        self.name = f"openai:{model}"
        self._dimension: int | None = None

    @property
    def dimension(self) -> int:  # type: ignore[override]
        if self._dimension is None:
            self.embed(["dimension probe"])
        assert self._dimension is not None
        return self._dimension

    def embed(self, texts: Sequence[str], *, batch_size: int | None = None) -> np.ndarray:
        items = check_texts(texts, batch_size)
        batch_size = batch_size or self.default_batch_size
        rows: list[list[float]] = []
        for start in range(0, len(items), batch_size):
            rows.extend(self._batch(items[start : start + batch_size]))
        if not rows:
            return np.zeros((0, self.dimension), dtype=np.float32)
        array = _normalised(rows, self._dimension, "the embedding endpoint")
        self._dimension = int(array.shape[1])
        return array

    def _batch(self, batch: list[str]) -> list[list[float]]:
        try:
            response = self.client.post(
                "embeddings", json={"model": self.model, "input": [t or " " for t in batch]}
            )
        except Exception as exc:  # httpx transport errors
            raise ServiceUnavailable("embedding endpoint", redact(exc)) from exc
        if response.status_code == 429 or response.status_code >= 500:
            raise ServiceUnavailable("embedding endpoint", f"HTTP {response.status_code}")
        if response.status_code >= 400:
            raise EmbeddingError(
                f"the embedding endpoint refused the request: HTTP {response.status_code}"
            )
        try:
            data = sorted(response.json()["data"], key=lambda item: item["index"])
            rows = [item["embedding"] for item in data]
        except (ValueError, KeyError, TypeError) as exc:
            raise EmbeddingError("the embedding endpoint returned a malformed reply") from exc
        if len(rows) != len(batch):
            raise EmbeddingError(
                f"the embedding endpoint returned {len(rows)} vectors for {len(batch)} texts"
            )
        return rows
