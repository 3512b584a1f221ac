"""The ingestion benchmarks' corpus: variants of the Fed OIG report, shared so that
``bench_knowledge_ingest`` and ``bench_knowledge_llamaindex`` index the same chunks.

Each copy has the report's pages in a different order and is a distinct source;
about 110 chunks per copy, so 19 copies ≈ 2,100 chunks.
"""

from __future__ import annotations

from pathlib import Path

from tidyllm.extraction import ExtractedDocument, extract

PDF = (
    Path(__file__).resolve().parents[2]
    / "shared"
    / "corpus"
    / "fed-sr-model-validation-stress-testing-2015.pdf"
)


def variants(document: ExtractedDocument, copies: int) -> list[ExtractedDocument]:
    """``copies`` documents with the report's pages rotated (distinct content per copy)."""
    pages = list(document.pages)
    out = []
    for copy in range(copies):
        shift = copy % len(pages)
        rotated = pages[shift:] + pages[:shift]
        renumbered = tuple(
            type(p)(number=i, text=p.text, blocks=p.blocks) for i, p in enumerate(rotated, 1)
        )
        out.append(ExtractedDocument(mime=document.mime, pages=renumbered, title=f"copy {copy}"))
    return out


def corpus(copies: int) -> list[ExtractedDocument]:
    """The report extracted once, then ``copies`` variants of it."""
    return variants(extract(PDF), copies)
