"""Remote embedders from the session manager: OpenAI-compatible and Bedrock Titan.

Test doubles (named as such): ``BagOfWordsEndpoint`` is a real HTTP server on
loopback speaking the OpenAI ``/embeddings`` wire format, whose vectors are
hashed bag-of-words counts (a real, if crude, embedding - no model can run
here); Bedrock Titan is exercised with botocore's ``Stubber`` on the real
bedrock-runtime client the session manager builds.
"""

from __future__ import annotations

import hashlib
import io
import json
import re

import numpy as np
import pytest

from openai_doubles import OpenAICompatibleEndpoint
from tidyllm.errors import EmbeddingError
from tidyllm.extraction import ExtractedDocument, Page
from tidyllm.knowledge import create_domain, index_document, search

CANARY = "sk-canary-embed-51d0"
DIM = 64


def _bag_of_words(text: str) -> list[float]:
    vector = [0.0] * DIM
    for word in re.findall(r"\w+", text.lower()):
        vector[int(hashlib.sha256(word.encode()).hexdigest(), 16) % DIM] += 1.0
    return vector if any(vector) else [1.0] + [0.0] * (DIM - 1)


class BagOfWordsEndpoint(OpenAICompatibleEndpoint):
    """TEST DOUBLE: an OpenAI-compatible /embeddings endpoint (hashed bag of words)."""

    def respond(self, body: dict) -> tuple[int, bytes]:
        data = [{"index": i, "embedding": _bag_of_words(t)} for i, t in enumerate(body["input"])]
        return 200, json.dumps({"data": list(reversed(data))}).encode()

    @property
    def auth(self) -> list[str | None]:
        """The Authorization header of every request, in order."""
        return [request["auth"] for request in self.requests]


@pytest.fixture
def endpoint():
    with BagOfWordsEndpoint() as server:
        yield server


def test_a_domain_on_an_openai_compatible_embedder(data_dir, database_url, endpoint) -> None:
    from tidyllm.session import UnifiedSessionManager

    with UnifiedSessionManager(
        data_dir=data_dir,
        database={"url": database_url},
        embedder={
            "provider": "openai",
            "endpoint": endpoint.url,
            "model": "bow",
            "api_key": CANARY,
        },
    ) as sm:
        domain = create_domain(sm, "remote")
        assert (domain.embedder, domain.dimension) == ("openai:bow", DIM)
        for name, text in {
            "capital": "capital buffers absorb losses",
            "weather": "sunny weather tomorrow",
        }.items():
            index_document(
                sm,
                domain="remote",
                document=ExtractedDocument(mime="text/plain", pages=(Page(1, text),)),
                source_uri=f"mem://{name}",
                version="1",
                content_hash=name,
            )
        hits = search(sm, "remote", "capital losses", k=2, mode="dense").hits
        assert hits[0].source_uri == "mem://capital"
        with sm.connection() as conn:  # the 64-d HNSW index was created for this domain
            assert (
                conn.execute(
                    "SELECT count(*) FROM pg_indexes WHERE indexname = 'chunks_embedding_64_idx'"
                ).fetchone()[0]
                == 1
            )
    assert set(endpoint.auth) == {f"Bearer {CANARY}"}


def _titan_body(vector: list[float]) -> dict:
    from botocore.response import StreamingBody

    raw = json.dumps({"embedding": vector, "inputTextTokenCount": 3}).encode()
    return {"body": StreamingBody(io.BytesIO(raw), len(raw)), "contentType": "application/json"}


@pytest.fixture
def titan_sm(data_dir, monkeypatch):
    from tidyllm.session import UnifiedSessionManager

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing-secret")
    with UnifiedSessionManager(
        data_dir=data_dir, embedder={"provider": "bedrock"}, llm={"region": "us-east-1"}
    ) as sm:
        yield sm


def test_bedrock_titan_requests_and_normalises(titan_sm) -> None:
    from botocore.stub import Stubber

    embedder = titan_sm.embedder()
    assert (embedder.name, embedder.dimension) == (
        "bedrock:amazon.titan-embed-text-v2:0:1024",
        1024,
    )
    with Stubber(embedder.client) as stub:  # TEST DOUBLE: botocore's stubbed transport
        for value in (3.0, 4.0):
            stub.add_response(
                "invoke_model",
                _titan_body([value] + [0.0] * 1023),
                {
                    "modelId": "amazon.titan-embed-text-v2:0",
                    "contentType": "application/json",
                    "accept": "application/json",
                    "body": json.dumps(
                        {"inputText": f"text {value}", "dimensions": 1024, "normalize": True}
                    ),
                },
            )
        vectors = embedder.embed(["text 3.0", "text 4.0"])
    assert vectors.shape == (2, 1024) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0)


def test_bedrock_titan_refuses_a_wrong_shape(titan_sm) -> None:
    from botocore.stub import ANY, Stubber

    embedder = titan_sm.embedder()
    with Stubber(embedder.client) as stub, pytest.raises(EmbeddingError, match="shape"):
        stub.add_response(
            "invoke_model",
            _titan_body([1.0, 2.0]),
            {"modelId": ANY, "contentType": ANY, "accept": ANY, "body": ANY},
        )
        embedder.embed(["short"])
