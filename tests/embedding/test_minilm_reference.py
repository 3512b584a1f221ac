"""The default embedder against the real sentence-transformers model.

``reference_similarities.json`` was produced by ``make_reference.py`` (beside
this file) with sentence-transformers 6.2.0 and torch 2.13.0 running the fp32
all-MiniLM-L6-v2 weights; nothing in it is hand-written.

Tolerances: our model is the int8-quantised export, so vectors are not
bit-identical. Its per-sentence cosine to the fp32 vectors is about 0.9995
(0.996 for the empty string), which bounds a pair's cosine error by roughly
``||a - a'|| + ||b - b'||``; the largest error observed over these pairs is
0.007 (the German pair). 0.02 absolute leaves room for onnxruntime builds with
other kernels while still failing a wrong tokenizer, pooling or truncation,
each of which moves these cosines by 0.05 to 0.5.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tidyllm.embedding import MiniLMEmbedder

REFERENCE = json.loads(
    (Path(__file__).with_name("reference_similarities.json")).read_text(encoding="utf-8")
)
PAIR_TOLERANCE = 0.02
MIN_VECTOR_COSINE = 0.99


@pytest.fixture(scope="module")
def ours() -> np.ndarray:
    return MiniLMEmbedder().embed(REFERENCE["texts"])


def test_reference_covers_the_hard_cases() -> None:
    """The reference set really holds a >256-token text, non-Latin text and an empty string."""
    counts = REFERENCE["untruncated_token_counts"]
    assert max(counts) > REFERENCE["max_seq_length"] == 256
    assert any(any(ord(ch) > 0x3000 for ch in t) for t in REFERENCE["texts"])
    assert "" in REFERENCE["texts"]
    kinds = {p["kind"] for p in REFERENCE["pairs"]}
    assert kinds == {"similar", "dissimilar"}
    assert len(REFERENCE["pairs"]) >= 12


@pytest.mark.parametrize("pair", REFERENCE["pairs"], ids=lambda p: p["label"])
def test_pair_similarity_matches_sentence_transformers(pair: dict, ours: np.ndarray) -> None:
    cosine = float(ours[pair["a"]] @ ours[pair["b"]])
    assert cosine == pytest.approx(pair["cosine"], abs=PAIR_TOLERANCE)


def test_every_vector_is_close_to_the_fp32_vector(ours: np.ndarray) -> None:
    reference = np.asarray(REFERENCE["vectors"], dtype=np.float64)
    assert reference.shape == ours.shape == (len(REFERENCE["texts"]), 384)
    cosines = (ours.astype(np.float64) * reference).sum(axis=1) / np.linalg.norm(reference, axis=1)
    worst = int(np.argmin(cosines))
    assert cosines[worst] >= MIN_VECTOR_COSINE, REFERENCE["texts"][worst][:60]


def test_similar_pairs_rank_above_dissimilar_ones_for_the_same_anchor(ours: np.ndarray) -> None:
    by_anchor: dict[int, dict[str, list[float]]] = {}
    for pair in REFERENCE["pairs"]:
        cosine = float(ours[pair["a"]] @ ours[pair["b"]])
        by_anchor.setdefault(pair["a"], {"similar": [], "dissimilar": []})[pair["kind"]].append(
            cosine
        )
    compared = 0
    for groups in by_anchor.values():
        if groups["similar"] and groups["dissimilar"]:
            assert min(groups["similar"]) > max(groups["dissimilar"])
            compared += 1
    assert compared >= 6


def test_pair_ordering_is_preserved_wherever_the_reference_is_decisive(ours: np.ndarray) -> None:
    """Any two pairs whose reference cosines differ by more than twice the tolerance
    keep their order."""
    pairs = REFERENCE["pairs"]
    mine = [float(ours[p["a"]] @ ours[p["b"]]) for p in pairs]
    checked = 0
    for i, first in enumerate(pairs):
        for j, second in enumerate(pairs):
            if first["cosine"] - second["cosine"] > 2 * PAIR_TOLERANCE:
                assert mine[i] > mine[j], (first["label"], second["label"])
                checked += 1
    assert checked > 50
