"""Extracted pages → token-bounded chunks that cite exact page offsets.

Why it is built this way:

* **Bounded by the embedder's tokenizer.** Tokens are counted with the very
  WordPiece tokenizer the default embedder uses, so no chunk is silently
  truncated by the model (its window is 256 tokens including ``[CLS]`` and
  ``[SEP]``; the default ``chunk_size`` of 200 leaves room).
* **Chunks never span pages.** ``chunk.text == page_text[chunk.start:chunk.end]``
  always holds, so a citation is one page number plus two character offsets and
  can be highlighted exactly. A paragraph running over a page break becomes two
  chunks; the heading in force is carried over to the next page.
* **Structure first.** Pieces are split at block boundaries (headings,
  paragraphs, tables, lists), then at paragraph breaks / table rows, then at
  sentence ends, then at whitespace, and only then cut hard (a 100 KB string
  without spaces still yields bounded chunks). Pieces are packed greedily up
  to ``chunk_size`` tokens; a heading always starts a new chunk.
* **It terminates.** Every split makes strictly smaller pieces and every chunk
  takes at least one new piece, so the legacy chunker's endless loop cannot
  recur; a final pass re-counts every chunk and falls back to single pieces if
  a merge ever tokenised differently from its parts.
"""

from __future__ import annotations

import bisect
import itertools
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from tokenizers import Tokenizer

from tidyllm.embedding.tokenizer import clean_for_tokenizer, load_tokenizer
from tidyllm.errors import ChunkingError

#: One character is at most 3 WordPiece tokens (checked over all of Unicode),
#: so a chunk_size of 8 or more can always hold the smallest hard-cut piece.
MIN_CHUNK_SIZE = 8
#: The default embedder's window (256) minus ``[CLS]`` and ``[SEP]``.
MAX_DEFAULT_CHUNK_SIZE = 254
_HEADING_LABEL_CHARS = 200

_PARAGRAPHS = re.compile(r"\n[^\S\n]*\n\s*")
_LINES = re.compile(r"\s*\n\s*")
_SENTENCES = re.compile(r"(?<=[.!?;])\s+|(?<=[.!?;][\"'”’)\]])\s+|(?<=[。！？；])\s*")
_SPACES = re.compile(r"\s+")
_MARKDOWN_HEADING = re.compile(r"#{1,6}[^\S\n]+\S[^\n]*")
_WORD_START = re.compile(r"(?<=\s)\S")
# A heading block's text is its content without Markdown marks; the marks around it in the
# page text (``## `` before, `` ##`` after, a setext ``===``/``---`` line below) belong to it.
_LEADING_MARKS = re.compile(r"[^\S\n]*(#{1,6})[^\S\n]*")
_CLOSING_MARKS = re.compile(r"[^\S\n]+(#+)[^\S\n]*(?=\n|\Z)")
_SETEXT_LINE = re.compile(r"[^\S\n]*\n[^\S\n]{0,3}(=+|-+)[^\S\n]*(?=\n|\Z)")
_MARKS_ONLY = re.compile(r"#+")

_Levels = tuple[re.Pattern[str], ...]

_LEVELS: dict[str, _Levels] = {
    "paragraph": (_PARAGRAPHS, _SENTENCES, _SPACES),
    "heading": (_LINES, _SPACES),
    "list": (_LINES, _SENTENCES, _SPACES),
    "table": (_LINES, _SPACES),
}


@dataclass(frozen=True, slots=True)
class Chunk:
    """A piece of one page: ``text == page_text[start:end]``.

    ``index`` numbers the chunks of one document from 0; ``page`` is the
    1-based physical page; ``heading`` is the nearest heading at or before the
    chunk (possibly from an earlier page); ``token_count`` is the number of
    WordPiece tokens of ``text`` without special tokens.
    """

    index: int
    page: int
    start: int
    end: int
    text: str
    heading: str | None
    token_count: int


@dataclass(frozen=True, slots=True)
class _Atom:
    start: int
    end: int
    tokens: int
    heading: str | None  # the label, for pieces of a heading block
    opens_section: bool  # the first piece of a heading block


@dataclass(frozen=True, slots=True)
class _Piece:
    """A span still to be measured, with the split levels left to try."""

    start: int
    end: int
    levels: _Levels
    label: str | None
    opens: bool
    hard: bool

    def part(self, start: int, end: int, position: int, levels: _Levels, *, hard: bool) -> _Piece:
        """A sub-span; only the first part of a heading opens its section."""
        return _Piece(start, end, levels, self.label, self.opens and position == 0, hard)


@dataclass(slots=True)
class _Draft:
    start: int
    end: int
    atoms: list[_Atom]
    heading: str | None


class Chunker:
    """Splits pages into token-bounded chunks; reusable and thread-safe.

    ``chunk_size`` bounds each chunk's tokens, ``overlap`` bounds the tokens a
    chunk repeats from the end of the previous one (only inside a section of
    one page, and only at word starts), ``max_chars`` bounds each chunk's
    characters (default ``10 * chunk_size``: text that tokenises to a few
    ``[UNK]`` tokens, such as a run with no spaces, must still be cut).
    ``tokenizer`` defaults to the MiniLM embedder's; pass another embedder's
    ``tokenizers.Tokenizer`` to bound chunks for it.
    """

    def __init__(
        self,
        *,
        chunk_size: int = 200,
        overlap: int = 30,
        max_chars: int | None = None,
        tokenizer: Tokenizer | None = None,
    ) -> None:
        for label, value in (("chunk_size", chunk_size), ("overlap", overlap)):
            if isinstance(value, bool) or not isinstance(value, int):
                raise ChunkingError(f"{label} must be an int, got {value!r}")
        if chunk_size < MIN_CHUNK_SIZE:
            raise ChunkingError(f"chunk_size must be at least {MIN_CHUNK_SIZE}, got {chunk_size}")
        if not 0 <= overlap < chunk_size:
            raise ChunkingError(
                f"overlap must be >= 0 and smaller than chunk_size ({chunk_size}), got {overlap}"
            )
        if tokenizer is None and chunk_size > MAX_DEFAULT_CHUNK_SIZE:
            raise ChunkingError(
                f"chunk_size {chunk_size} exceeds the MiniLM embedder's window "
                f"({MAX_DEFAULT_CHUNK_SIZE} tokens plus [CLS] and [SEP])"
            )
        if max_chars is None:
            max_chars = 10 * chunk_size
        if isinstance(max_chars, bool) or not isinstance(max_chars, int) or max_chars < 1:
            raise ChunkingError(f"max_chars must be a positive int, got {max_chars!r}")
        self.chunk_size = chunk_size
        self.overlap = overlap
        self.max_chars = max_chars
        if tokenizer is None:
            tokenizer = load_tokenizer()
        elif not isinstance(tokenizer, Tokenizer):
            raise ChunkingError(
                f"tokenizer must be a tokenizers.Tokenizer, got {type(tokenizer).__name__}"
            )
        else:
            tokenizer = Tokenizer.from_str(tokenizer.to_str())
            tokenizer.no_truncation()
            tokenizer.no_padding()
        self._tokenizer = tokenizer

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Token counts (no special tokens) of ``texts``, in one batch call."""
        if not texts:
            return []
        encodings = self._tokenizer.encode_batch(
            [clean_for_tokenizer(t) for t in texts], add_special_tokens=False
        )
        return [len(e.ids) for e in encodings]

    def chunk(self, pages: Iterable[Any]) -> list[Chunk]:
        """Chunk a document's pages, in order.

        Each page is an object with ``.number``, ``.text`` and ``.blocks`` (as
        :class:`tidyllm.extraction.model.Page`) or a tuple ``(number, text)`` /
        ``(number, text, blocks)``; a block is an object with ``.kind`` and
        ``.text`` or a tuple ``(kind, text, ...)``. ``blocks`` may be None or
        empty: structure then comes from blank lines and Markdown ``#`` headings.
        Unknown block kinds are treated as paragraphs. Page numbers must be
        1-based ints in strictly increasing order.
        """
        if isinstance(pages, str | bytes) or not isinstance(pages, Iterable):
            raise ChunkingError(f"pages must be an iterable of pages, not {type(pages).__name__}")
        chunks: list[Chunk] = []
        heading: str | None = None
        previous_number = 0
        for position, raw in enumerate(pages):
            number, text, blocks = _read_page(raw, position)
            if number <= previous_number:
                raise ChunkingError(
                    f"page numbers must increase: page {number} follows page {previous_number}"
                )
            previous_number = number
            drafts, heading = self._page_drafts(text, blocks, heading)
            counts = self.count_tokens([text[d.start : d.end] for d in drafts])
            for draft, count in zip(drafts, counts, strict=True):
                for start, end, tokens in self._verified(draft, count):
                    chunks.append(
                        Chunk(
                            index=len(chunks),
                            page=number,
                            start=start,
                            end=end,
                            text=text[start:end],
                            heading=draft.heading,
                            token_count=tokens,
                        )
                    )
        return chunks

    def _verified(self, draft: _Draft, count: int) -> list[tuple[int, int, int]]:
        """The draft itself if its real token count is in bounds, else its pieces alone."""
        if count <= self.chunk_size and draft.end - draft.start <= self.max_chars:
            return [(draft.start, draft.end, count)]
        return [(a.start, a.end, a.tokens) for a in draft.atoms]

    def _page_drafts(
        self, text: str, blocks: list[tuple[str, str]] | None, heading: str | None
    ) -> tuple[list[_Draft], str | None]:
        """Pack one page's pieces into chunk drafts; returns them and the heading in force."""
        atoms = self._atoms(text, _spans(text, blocks))
        drafts: list[_Draft] = []
        current: _Draft | None = None
        tokens = 0
        headings_only = True
        for atom in atoms:
            overlap_from: _Draft | None = None
            if current is not None:
                new_section = atom.opens_section and not headings_only
                too_big = (
                    tokens + atom.tokens > self.chunk_size
                    or atom.end - current.start > self.max_chars
                )
                if new_section or too_big:
                    drafts.append(current)
                    overlap_from = None if new_section else current
                    current = None
            if atom.heading is not None:
                heading = atom.heading
            if current is None:
                start, tokens = atom.start, 0
                if overlap_from is not None and self.overlap:
                    start, tokens = self._overlap_start(text, overlap_from, atom)
                current = _Draft(start, atom.end, [], heading)
                headings_only = True
            current.atoms.append(atom)
            current.end = atom.end
            current.heading = heading
            tokens += atom.tokens
            headings_only = headings_only and atom.heading is not None
        if current is not None:
            drafts.append(current)
        return drafts, heading

    def _overlap_start(self, text: str, previous: _Draft, atom: _Atom) -> tuple[int, int]:
        """Where the next chunk starts so that it repeats at most ``overlap`` tokens.

        The longest suffix of the previous chunk that starts at a word and fits
        both the overlap and the room left beside ``atom``; ``(atom.start, 0)``
        when none does.
        """
        budget = min(self.overlap, self.chunk_size - atom.tokens)
        if budget <= 0:
            return atom.start, 0
        body = text[previous.start : previous.end]
        encoding = self._tokenizer.encode(clean_for_tokenizer(body), add_special_tokens=False)
        starts = sorted(offset[0] for offset in encoding.offsets)
        for match in _WORD_START.finditer(body):
            begin = match.start()
            if atom.end - (previous.start + begin) > self.max_chars:
                continue
            if len(starts) - bisect.bisect_left(starts, begin) > budget:
                continue
            # Confirm on the suffix alone: the tokenizer's idea of a word break
            # (it drops control characters) can differ from Python's.
            (repeated,) = self.count_tokens([body[begin:]])
            if repeated <= budget:
                return previous.start + begin, repeated
        return atom.start, 0

    def _atoms(self, text: str, spans: list[tuple[int, int, str]]) -> list[_Atom]:
        """Split spans until every piece fits ``chunk_size`` tokens and ``max_chars``.

        Works in rounds so that each round's token counts are one batch call.
        """
        atoms: list[_Atom] = []
        pending: list[_Piece] = []
        for start, end, kind in spans:
            levels = _LEVELS.get(kind, _LEVELS["paragraph"])
            label = _heading_label(text[start:end]) if kind == "heading" else None
            pending.append(_Piece(start, end, levels, label, label is not None, hard=False))
        while pending:
            measurable = [p for p in pending if p.end - p.start <= self.max_chars]
            counts = self.count_tokens([text[p.start : p.end] for p in measurable])
            measured = {(p.start, p.end): c for p, c in zip(measurable, counts, strict=True)}
            next_round: list[_Piece] = []
            for piece in pending:
                count = measured.get((piece.start, piece.end))
                fits = count is not None and count <= self.chunk_size
                if fits or piece.end - piece.start == 1:
                    atoms.append(
                        _Atom(piece.start, piece.end, count or 0, piece.label, piece.opens)
                    )
                elif piece.levels and not piece.hard:
                    parts = _glue_mark_parts(
                        text, _split(text, piece.start, piece.end, piece.levels[0])
                    )
                    next_round.extend(
                        piece.part(s, e, i, piece.levels[1:], hard=False)
                        for i, (s, e) in enumerate(parts)
                    )
                else:
                    cuts = _hard_cut(text, piece.start, piece.end, self.max_chars)
                    next_round.extend(
                        piece.part(s, e, i, (), hard=True) for i, (s, e) in enumerate(cuts)
                    )
            pending = next_round
        atoms.sort(key=lambda a: a.start)
        return atoms


def chunk_pages(
    pages: Iterable[Any],
    *,
    chunk_size: int = 200,
    overlap: int = 30,
    max_chars: int | None = None,
) -> list[Chunk]:
    """Chunk pages with a one-off :class:`Chunker` (which loads the tokenizer, ~40 ms)."""
    chunker = Chunker(chunk_size=chunk_size, overlap=overlap, max_chars=max_chars)
    return chunker.chunk(pages)


def _read_page(raw: Any, position: int) -> tuple[int, str, list[tuple[str, str]] | None]:
    """Accept a Page-like object or a tuple; validate it; normalise its blocks."""
    if hasattr(raw, "number") and hasattr(raw, "text"):
        number, text, blocks = raw.number, raw.text, getattr(raw, "blocks", None)
    elif isinstance(raw, tuple | list) and len(raw) in (2, 3):
        number, text = raw[0], raw[1]
        blocks = raw[2] if len(raw) == 3 else None
    else:
        raise ChunkingError(
            f"pages[{position}] must have .number and .text or be (number, text[, blocks]), "
            f"got {type(raw).__name__}"
        )
    if isinstance(number, bool) or not isinstance(number, int) or number < 1:
        raise ChunkingError(f"pages[{position}]: page numbers are 1-based ints, got {number!r}")
    if not isinstance(text, str):
        raise ChunkingError(f"page {number}: text must be a str, got {type(text).__name__}")
    if blocks is None:
        return number, text, None
    if isinstance(blocks, str | bytes) or not isinstance(blocks, Iterable):
        raise ChunkingError(f"page {number}: blocks must be a sequence of blocks")
    normalised: list[tuple[str, str]] = []
    for index, block in enumerate(blocks):
        if hasattr(block, "kind") and hasattr(block, "text"):
            kind, body = block.kind, block.text
        elif isinstance(block, tuple | list) and len(block) >= 2:
            kind, body = block[0], block[1]
        else:
            raise ChunkingError(f"page {number}: blocks[{index}] is not a (kind, text) block")
        if not isinstance(kind, str) or not isinstance(body, str):
            raise ChunkingError(f"page {number}: blocks[{index}] needs a str kind and a str text")
        normalised.append((kind, body))
    return number, text, normalised or None


def _spans(text: str, blocks: list[tuple[str, str]] | None) -> list[tuple[int, int, str]]:
    """Structural spans ``(start, end, kind)`` covering every non-space character.

    Blocks are located in the page text in order; a block that cannot be found
    (its text was normalised differently) is skipped, and any text between
    located blocks is covered as plain text, so nothing is ever lost. A heading
    block takes its Markdown marks with it, and a span of ``#`` marks alone (an
    empty heading) joins the span after it (or before it, at the end of a page):
    no chunk holds only ``#`` or ends with the next heading's ``##``.
    """
    if not blocks:
        return _glue_marks(text, _text_spans(text, 0, len(text)))
    spans: list[tuple[int, int, str]] = []
    cursor = 0
    for kind, body in blocks:
        needle = body.strip()
        if not needle:
            continue
        found = text.find(needle, cursor)
        if found < 0:
            continue
        start, end = found, found + len(needle)
        if kind == "heading":
            start, end = _with_marks(text, cursor, start, end)
        spans.extend(_text_spans(text, cursor, start))
        spans.append((start, end, kind if kind in _LEVELS else "paragraph"))
        cursor = end
    spans.extend(_text_spans(text, cursor, len(text)))
    return _glue_marks(text, spans)


def _with_marks(text: str, cursor: int, start: int, end: int) -> tuple[int, int]:
    """A heading's span widened over its Markdown marks on its own line(s)."""
    line = max(text.rfind("\n", cursor, start) + 1, cursor)
    lead = _LEADING_MARKS.fullmatch(text, line, start)
    if lead:
        start = lead.start(1)
    close = _CLOSING_MARKS.match(text, end) or _SETEXT_LINE.match(text, end)
    if close:
        end = close.end(1)
    return start, end


def _glue_mark_parts(text: str, parts: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Parts of a split with each part of ``#`` marks alone joined to the part after it
    (or before it, when last): a heading's marks are never a piece of their own."""
    glued = _glue_marks(text, [(s, e, "") for s, e in parts])
    return [(s, e) for s, e, _ in glued]


def _glue_marks(text: str, spans: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """Join each span of ``#`` marks alone to its neighbour (the next one, else the previous)."""
    out: list[tuple[int, int, str]] = []
    carry: int | None = None  # start of marks waiting for the next span
    for start, end, kind in spans:
        if _MARKS_ONLY.fullmatch(text, start, end):
            carry = start if carry is None else carry
            continue
        if carry is not None:
            start, carry = carry, None
        out.append((start, end, kind))
    if carry is not None:
        if out:
            start, _, kind = out[-1]
            out[-1] = (start, spans[-1][1], kind)
        else:
            out.append((carry, spans[-1][1], "paragraph"))
    return out


def _text_spans(text: str, start: int, end: int) -> list[tuple[int, int, str]]:
    """Paragraph spans of unstructured text; a leading Markdown ``#`` line is a heading."""
    spans: list[tuple[int, int, str]] = []
    for s, e in _split(text, start, end, _PARAGRAPHS):
        heading = _MARKDOWN_HEADING.match(text, s, e)
        if heading:
            spans.extend((s2, e2, "heading") for s2, e2 in _strip(text, s, heading.end()))
            spans.extend((s2, e2, "paragraph") for s2, e2 in _strip(text, heading.end(), e))
        else:
            spans.append((s, e, "paragraph"))
    return spans


def _split(text: str, start: int, end: int, pattern: re.Pattern[str]) -> list[tuple[int, int]]:
    """Split ``text[start:end]`` at ``pattern``; parts are whitespace-stripped and non-empty."""
    parts: list[tuple[int, int]] = []
    cursor = start
    for match in pattern.finditer(text, start, end):
        if match.end() == match.start() and match.start() in (start, end):
            continue
        parts.extend(_strip(text, cursor, match.start()))
        cursor = match.end()
    parts.extend(_strip(text, cursor, end))
    return parts


def _strip(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """``[(s, e)]`` with surrounding whitespace removed, or ``[]`` if only whitespace."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return [(start, end)] if start < end else []


def _hard_cut(text: str, start: int, end: int, max_chars: int) -> list[tuple[int, int]]:
    """Cut a piece with no usable boundary: into ``max_chars`` pieces, or in half.

    A cut is moved back off a combining mark so it stays with its base
    character, unless that would empty the piece. There is always at least one
    cut strictly inside, so every piece is shorter than the input and repeated
    cutting ends at single characters.
    """
    length = end - start
    step = max_chars if length > max_chars else (length + 1) // 2
    cuts = [start]
    target = start + step
    while target < end:
        cut = target
        while cut > cuts[-1] + 1 and unicodedata.combining(text[cut]):
            cut -= 1
        cuts.append(cut)
        target = cut + step
    cuts.append(end)
    return list(itertools.pairwise(cuts))


def _heading_label(raw: str) -> str:
    """A heading's text as a label: Markdown ``#`` marks dropped, spaces collapsed, capped."""
    words = raw.split()
    if words and _MARKS_ONLY.fullmatch(words[-1]):
        words = words[:-1]  # closing marks: "## Title ##"
    if len(words) >= 2 and words[-1] and set(words[-1]) <= {"=", "-"}:
        words = words[:-1]  # a setext underline
    label = " ".join(w for w in words if not _MARKS_ONLY.fullmatch(w)).lstrip("#").strip()
    return label[:_HEADING_LABEL_CHARS] or raw.strip()[:_HEADING_LABEL_CHARS]
