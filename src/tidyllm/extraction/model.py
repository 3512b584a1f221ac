"""What extraction returns: a document as 1-based physical pages of text.

The result is plain frozen data so it can cross a process boundary as JSON
(see :mod:`tidyllm.extraction.isolate`) and be handed to a chunker that cites
page numbers. Page numbers are 1-based physical pages of the source file: the
PDF page, the spreadsheet sheet, the slide; flat formats are page 1.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

BlockKind = Literal["heading", "paragraph", "table", "list"]
BLOCK_KINDS: frozenset[str] = frozenset({"heading", "paragraph", "table", "list"})


@dataclass(frozen=True)
class Block:
    """A structural unit the source format gave us, so a chunker can respect it.

    ``level`` is the heading level (1 = top) for headings and 0 otherwise.
    """

    kind: BlockKind
    text: str
    level: int = 0

    def __post_init__(self) -> None:
        if self.kind not in BLOCK_KINDS:
            raise ValueError(f"unknown block kind {self.kind!r}")


@dataclass(frozen=True)
class Page:
    """One physical page (or sheet, or slide) of the source; ``number`` is 1-based."""

    number: int
    text: str
    blocks: tuple[Block, ...] = ()

    def __post_init__(self) -> None:
        if self.number < 1:
            raise ValueError(f"page numbers are 1-based, got {self.number}")


@dataclass(frozen=True)
class ExtractedDocument:
    """The text and structure of one document.

    ``warnings`` are things a person may want to know (a page without a text
    layer, a fallback text encoding) that did not stop extraction. ``ocr`` is
    True when any page's text came from OCR rather than the file's text layer.
    """

    mime: str
    pages: tuple[Page, ...]
    title: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    ocr: bool = False

    def __post_init__(self) -> None:
        # Frozen all the way down: a read-only view of a private copy.
        object.__setattr__(self, "metadata", MappingProxyType(dict(self.metadata)))

    @property
    def text(self) -> str:
        """All pages' text, separated by form feeds (the traditional page break)."""
        return "\f".join(page.text for page in self.pages)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; :meth:`from_dict` reverses it exactly."""
        return {
            "mime": self.mime,
            "title": self.title,
            "metadata": dict(self.metadata),
            "warnings": list(self.warnings),
            "ocr": self.ocr,
            "pages": [
                {
                    "number": p.number,
                    "text": p.text,
                    "blocks": [[b.kind, b.text, b.level] for b in p.blocks],
                }
                for p in self.pages
            ],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ExtractedDocument:
        """Rebuild a document from :meth:`to_dict` output (e.g. from the child process)."""
        return cls(
            mime=str(data["mime"]),
            title=data.get("title"),
            metadata={str(k): str(v) for k, v in data.get("metadata", {}).items()},
            warnings=tuple(str(w) for w in data.get("warnings", ())),
            ocr=bool(data.get("ocr", False)),
            pages=tuple(
                Page(
                    number=int(p["number"]),
                    text=str(p["text"]),
                    blocks=tuple(
                        Block(kind, str(text), int(level)) for kind, text, level in p["blocks"]
                    ),
                )
                for p in data["pages"]
            ),
        )
