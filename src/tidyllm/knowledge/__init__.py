"""Knowledge: domains, documents, chunks, embeddings, search and answers.

``index_document`` is what the drop-zone ``index`` step and ``tidyllm ingest``
call; ``search`` is hybrid (pgvector HNSW + PostgreSQL full text, fused by
reciprocal rank). Answers with checked citations live in
:mod:`tidyllm.answering`. See docs/knowledge.md.
"""

from tidyllm.knowledge.chunker import Chunk, Chunker, chunk_pages
from tidyllm.knowledge.domains import (
    Domain,
    DomainStats,
    create_domain,
    delete_domain,
    list_domains,
    set_domain_ocr,
    show_domain,
)
from tidyllm.knowledge.indexing import IndexedVersion, index_document
from tidyllm.knowledge.search import Hit, SearchResult, search

__all__ = [
    "Chunk",
    "Chunker",
    "Domain",
    "DomainStats",
    "Hit",
    "IndexedVersion",
    "SearchResult",
    "chunk_pages",
    "create_domain",
    "delete_domain",
    "index_document",
    "list_domains",
    "search",
    "set_domain_ocr",
    "show_domain",
]
