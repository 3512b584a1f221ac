"""Numbered sources: what a generator is shown and what citations ``[n]`` refer to."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tidyllm.knowledge.search import Hit


@dataclass(frozen=True)
class Source:
    """Retrieved chunk number ``number`` (1-based, in retrieval order)."""

    number: int
    hit: Hit

    @property
    def label(self) -> str:
        """``title, page N`` (or the source URI when there is no title)."""
        name = self.hit.title or self.hit.source_uri
        return f"{name}, page {self.hit.page}"


def number_sources(hits: Sequence[Hit]) -> list[Source]:
    """Number hits from 1 in the order they were retrieved."""
    return [Source(i, hit) for i, hit in enumerate(hits, start=1)]


def sources_block(sources: Sequence[Source]) -> str:
    """The sources as the prompt shows them: ``[n] (label)`` then the chunk text."""
    return "\n\n".join(f"[{s.number}] ({s.label})\n{s.hit.text.strip()}" for s in sources)
