"""Length-sorted batching is exact: the same vectors, in input order, as embedding unsorted."""

from __future__ import annotations

import numpy as np
import pytest

from tidyllm.embedding import MiniLMEmbedder


class InputOrder(MiniLMEmbedder):
    """Embeds in input order: batches mix short and long texts (the unsorted baseline)."""

    def _order(self, lengths: list[int]) -> list[int]:
        return list(range(len(lengths)))


# Lengths chosen so that input-order batches pad heavily: long, short, empty, long, ...
TEXTS = [
    ("capital planning and stress testing " * (1 + (i * 7) % 13)) if i % 3 else ""
    for i in range(25)
] + [
    "x",
    "Съешь же ещё этих мягких булок 🙂",
    "word " * 400,  # truncated at 256 tokens
    "\ud800 lone surrogate",
    "a",
]


@pytest.fixture(scope="module")
def embedders() -> tuple[MiniLMEmbedder, MiniLMEmbedder]:
    return MiniLMEmbedder(threads=2), InputOrder(threads=2)


def test_the_embedder_batches_shortest_first() -> None:
    lengths = [5, 1, 9, 1, 3]
    assert MiniLMEmbedder()._order(lengths) == [1, 3, 4, 0, 2]  # stable for ties


@pytest.mark.parametrize("batch_size", [1, 3, 8, 32])
def test_sorted_and_unsorted_give_the_same_vectors_in_the_same_order(
    embedders: tuple[MiniLMEmbedder, MiniLMEmbedder], batch_size: int
) -> None:
    sorted_, unsorted = embedders
    got = sorted_.embed(TEXTS, batch_size=batch_size)
    expected = unsorted.embed(TEXTS, batch_size=batch_size)
    assert got.shape == expected.shape == (len(TEXTS), 384)
    np.testing.assert_allclose(got, expected, atol=2e-5)
    # Row i is text i: each row is closest to its own text's vector embedded alone.
    alone = np.stack([unsorted.embed([t])[0] for t in TEXTS])
    np.testing.assert_allclose(got, alone, atol=2e-5)


def test_duplicates_and_permutations_keep_their_rows(
    embedders: tuple[MiniLMEmbedder, MiniLMEmbedder],
) -> None:
    sorted_, _ = embedders
    base = sorted_.embed(TEXTS)
    permutation = np.random.default_rng(7).permutation(len(TEXTS))
    shuffled = sorted_.embed([TEXTS[i] for i in permutation], batch_size=4)
    np.testing.assert_allclose(shuffled, base[permutation], atol=2e-5)
    doubled = sorted_.embed(TEXTS + TEXTS, batch_size=5)
    np.testing.assert_allclose(doubled[: len(TEXTS)], base, atol=2e-5)
    np.testing.assert_allclose(doubled[len(TEXTS) :], base, atol=2e-5)
