"""The chunker: structure, exact offsets, bounds, and termination on any input."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from pypdf import PdfReader

from corpus_paths import FED_PDF
from tidyllm.embedding import MiniLMEmbedder, load_tokenizer
from tidyllm.errors import ChunkingError, TidyLLMError
from tidyllm.extraction.model import Block, Page
from tidyllm.knowledge.chunker import Chunk, Chunker, chunk_pages

TOKENIZER = load_tokenizer()


def _tokens(text: str) -> int:
    clean = text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    if len(clean) != len(text):  # lone surrogates: count them as the chunker does
        clean = "".join("\ufffd" if 0xD800 <= ord(c) <= 0xDFFF else c for c in text)
    return len(TOKENIZER.encode(clean, add_special_tokens=False).ids)


def check_invariants(chunker: Chunker, pages: list[tuple[int, str]], chunks: list[Chunk]) -> None:
    """Everything the chunker promises, checked from the outside with a fresh tokenizer."""
    texts = dict(pages)
    assert [c.index for c in chunks] == list(range(len(chunks)))
    assert [c.page for c in chunks] == sorted(c.page for c in chunks)
    for chunk in chunks:
        page_text = texts[chunk.page]
        assert 0 <= chunk.start < chunk.end <= len(page_text)
        assert chunk.text == page_text[chunk.start : chunk.end]
        assert not chunk.text[0].isspace() and not chunk.text[-1].isspace()
        assert chunk.token_count == _tokens(chunk.text)
        assert chunk.token_count <= chunker.chunk_size
        assert chunk.end - chunk.start <= chunker.max_chars
    for previous, following in itertools.pairwise(chunks):
        if previous.page != following.page:
            continue
        assert following.end > previous.end
        assert following.start > previous.start
        if following.start < previous.end:
            repeated = texts[previous.page][following.start : previous.end]
            assert _tokens(repeated) <= chunker.overlap
    for number, page_text in pages:
        covered = [False] * len(page_text)
        for chunk in chunks:
            if chunk.page == number:
                covered[chunk.start : chunk.end] = [True] * (chunk.end - chunk.start)
        missing = [i for i, ch in enumerate(page_text) if not ch.isspace() and not covered[i]]
        assert not missing, f"page {number}: characters {missing[:5]} are in no chunk"


@pytest.fixture(scope="module")
def chunker() -> Chunker:
    return Chunker()


# --- structure ---------------------------------------------------------------


def test_blocks_give_headings_and_chunks_keep_page_offsets(chunker: Chunker) -> None:
    intro = "Model validation is an independent review of a model's design and use."
    table = "Scenario | Loss\nBaseline | 1.2\nSevere | 4.8"
    text = f"Overview\n\n{intro}\n\n{table}\n\nMethods\n\nWe back-test every quarter."
    page = Page(
        3,
        text,
        (
            Block("heading", "Overview", 1),
            Block("paragraph", intro),
            Block("table", table),
            Block("heading", "Methods", 1),
            Block("paragraph", "We back-test every quarter."),
        ),
    )
    chunks = chunker.chunk([page])
    check_invariants(chunker, [(3, text)], chunks)
    assert [(c.heading, c.text.split("\n")[0]) for c in chunks] == [
        ("Overview", "Overview"),
        ("Methods", "Methods"),
    ]
    assert table in chunks[0].text
    assert all(c.page == 3 for c in chunks)


def test_headings_carry_over_pages_and_chunks_never_span_pages(chunker: Chunker) -> None:
    first = "# Stress testing\n\nBanks project losses under adverse scenarios."
    second = "The projections continue on the next page without a heading."
    chunks = chunker.chunk([(1, first), (2, second)])
    check_invariants(chunker, [(1, first), (2, second)], chunks)
    assert [(c.page, c.heading) for c in chunks] == [(1, "Stress testing"), (2, "Stress testing")]
    assert chunks[1].text == second


def test_consecutive_headings_share_a_chunk(chunker: Chunker) -> None:
    text = "# Part I\n\n## Chapter 1\n\nBody text of the chapter."
    chunks = chunker.chunk([(1, text)])
    assert len(chunks) == 1
    assert chunks[0].heading == "Chapter 1"
    assert chunks[0].text == text


def test_long_paragraphs_split_at_sentence_ends_with_bounded_overlap() -> None:
    sentences = [f"Sentence {i} explains one more detail of the validation." for i in range(30)]
    text = " ".join(sentences)
    small = Chunker(chunk_size=40, overlap=10)
    chunks = small.chunk([(1, text)])
    check_invariants(small, [(1, text)], chunks)
    assert len(chunks) > 5
    assert all(c.text.endswith(".") for c in chunks)
    assert all(following.start < previous.end for previous, following in itertools.pairwise(chunks))


def test_zero_overlap_gives_disjoint_chunks() -> None:
    text = " ".join(f"Word{i} and more words here." for i in range(200))
    disjoint = Chunker(chunk_size=30, overlap=0)
    chunks = disjoint.chunk([(1, text)])
    check_invariants(disjoint, [(1, text)], chunks)
    assert all(f.start >= p.end for p, f in itertools.pairwise(chunks))


def test_big_table_splits_at_rows() -> None:
    rows = [f"row {i} | value {i * 7} | note" for i in range(120)]
    table = "\n".join(rows)
    small = Chunker(chunk_size=50, overlap=0)
    chunks = small.chunk([(1, table, [("table", table)])])
    check_invariants(small, [(1, table)], chunks)
    assert len(chunks) > 3
    for chunk in chunks:
        assert chunk.text.startswith("row ") and chunk.text.endswith("note")


def test_a_100kb_string_without_spaces_is_cut_hard_and_terminates(chunker: Chunker) -> None:
    text = "ab\u0301c" * 25_000  # includes combining accents at every 4th character
    chunks = chunker.chunk([(1, text)])
    check_invariants(chunker, [(1, text)], chunks)
    assert len(chunks) >= len(text) // chunker.max_chars
    assert all(c.text[0] != "\u0301" for c in chunks)  # cuts avoid combining marks


def test_blocks_missing_from_the_text_lose_nothing(chunker: Chunker) -> None:
    text = "Real heading\n\nReal paragraph that the blocks do not describe."
    blocks = [("heading", "A heading from elsewhere"), ("paragraph", "Not in the page")]
    chunks = chunker.chunk([(1, text, blocks)])
    check_invariants(chunker, [(1, text)], chunks)
    assert chunks[0].heading is None


def test_unknown_block_kinds_are_treated_as_paragraphs(chunker: Chunker) -> None:
    text = "def f():\n    return 1"
    chunks = chunker.chunk([(1, text, [("code", text)])])
    assert [c.text for c in chunks] == [text]


@pytest.mark.parametrize("text", ["", "   \n\n\t  ", "\u3000\u2003"])
def test_empty_and_whitespace_pages_give_no_chunks(chunker: Chunker, text: str) -> None:
    assert chunker.chunk([(1, text)]) == []


def test_default_chunks_fit_the_embedder_window_on_a_real_pdf(chunker: Chunker) -> None:
    reader = PdfReader(FED_PDF)
    pages = [(i + 1, reader.pages[i].extract_text()) for i in range(8)]
    chunks = chunker.chunk(pages)
    check_invariants(chunker, pages, chunks)
    assert len(chunks) > 10
    embedder_tokenizer = MiniLMEmbedder().tokenizer
    for chunk in chunks:
        encoded = embedder_tokenizer.encode(chunk.text)
        assert len(encoded.ids) <= 256
        assert encoded.ids[-1] == 102  # [SEP] kept: nothing was truncated


def test_chunk_pages_and_a_custom_tokenizer() -> None:
    text = "One sentence here. Another sentence there."
    assert [c.text for c in chunk_pages([(1, text)])] == [text]
    custom = Chunker(chunk_size=300, overlap=0, tokenizer=load_tokenizer())
    assert custom.chunk([(1, text)])[0].token_count == _tokens(text)


# --- hostile input -------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"chunk_size": 30, "overlap": 30}, "smaller than chunk_size"),
        ({"chunk_size": 30, "overlap": 31}, "smaller than chunk_size"),
        ({"overlap": -1}, "overlap must be >= 0"),
        ({"chunk_size": 4, "overlap": 0}, "at least 8"),
        ({"chunk_size": 255}, "window"),
        ({"chunk_size": 20.5}, "must be an int"),
        ({"overlap": True}, "must be an int"),
        ({"max_chars": 0}, "max_chars"),
        ({"tokenizer": "bert"}, "tokenizers.Tokenizer"),
    ],
)
def test_bad_settings_are_refused_clearly(kwargs: dict, match: str) -> None:
    with pytest.raises(ChunkingError, match=match) as caught:
        Chunker(**kwargs)
    assert isinstance(caught.value, TidyLLMError) and isinstance(caught.value, ValueError)


@dataclass
class OddPage:
    number: object
    text: object
    blocks: object = None


@pytest.mark.parametrize(
    ("pages", "match"),
    [
        ("a string", "iterable of pages"),
        (None, "iterable of pages"),
        ([(0, "text")], "1-based"),
        ([(-3, "text")], "1-based"),
        ([(True, "text")], "1-based"),
        ([("1", "text")], "1-based"),
        ([(1, b"bytes")], "text must be a str"),
        ([OddPage(1, None)], "text must be a str"),
        ([(2, "a"), (1, "b")], "must increase"),
        ([(1, "a"), (1, "b")], "must increase"),
        ([42], "must have .number"),
        ([(1,)], "must have .number"),
        ([(1, "text", "blocks as a string")], "blocks must be"),
        ([(1, "text", [("heading",)])], "not a \\(kind, text\\) block"),
        ([(1, "text", [(1, "text")])], "str kind"),
        ([(1, "text", [("paragraph", None)])], "str kind"),
    ],
)
def test_bad_pages_are_refused_clearly(chunker: Chunker, pages: object, match: str) -> None:
    with pytest.raises(ChunkingError, match=match):
        chunker.chunk(pages)  # type: ignore[arg-type]


def test_lone_surrogates_and_control_characters(chunker: Chunker) -> None:
    text = "bad \ud800 surrogate \x00 nul \x1c separator " * 40
    chunks = Chunker(chunk_size=20, overlap=5).chunk([(1, text)])
    check_invariants(Chunker(chunk_size=20, overlap=5), [(1, text)], chunks)


# --- properties on random input -------------------------------------------------

_PIECES = st.sampled_from(
    [
        " ",
        "\n",
        "\n\n",
        "\t",
        "\u3000",
        ". ",
        "! ",
        "。",
        "# ",
        "| ",
        "😀",
        "👩‍👩‍👧",
        "e\u0301",
        "\u0301",
        "東京",
        "x" * 150,
        "word ",
        "Validation ",
        "\x00",
        "\x1c",
        "\u200b",
    ]
)
_TEXT = st.one_of(
    st.text(max_size=400),
    st.lists(_PIECES, max_size=120).map("".join),
    st.lists(st.one_of(_PIECES, st.text(max_size=12)), max_size=80).map("".join),
    st.builds(lambda ch, n: ch * n, st.characters(), st.integers(0, 3000)),
)
_SETTINGS = st.integers(8, 48).flatmap(
    lambda size: st.tuples(
        st.just(size),
        st.integers(0, size - 1),
        st.one_of(st.none(), st.integers(1, 300)),
    )
)


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(texts=st.lists(_TEXT, min_size=1, max_size=3), config=_SETTINGS)
@example(texts=["# 0:0:0:0 \n0"], config=(8, 0, None))  # found by hypothesis: heading + space
def test_random_text_terminates_within_bounds(texts: list[str], config: tuple) -> None:
    size, overlap, max_chars = config
    chunker = Chunker(chunk_size=size, overlap=overlap, max_chars=max_chars)
    pages = [(i + 1, text) for i, text in enumerate(texts)]
    check_invariants(chunker, pages, chunker.chunk(pages))


@st.composite
def _structured_page(draw: st.DrawFn) -> tuple[str, list[tuple[str, str]]]:
    kinds = st.sampled_from(["heading", "paragraph", "table", "list", "caption"])
    blocks = draw(st.lists(st.tuples(kinds, _TEXT), max_size=6))
    separators = draw(st.lists(st.sampled_from(["\n\n", "\n", " ", ""]), min_size=len(blocks)))
    text = "".join(body + sep for (_, body), sep in zip(blocks, separators, strict=False))
    return text, blocks


@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(page=_structured_page(), config=_SETTINGS)
def test_random_blocks_terminate_within_bounds(page: tuple, config: tuple) -> None:
    text, blocks = page
    size, overlap, max_chars = config
    chunker = Chunker(chunk_size=size, overlap=overlap, max_chars=max_chars)
    check_invariants(chunker, [(1, text)], chunker.chunk([(1, text, blocks)]))
