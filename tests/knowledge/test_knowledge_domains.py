"""Domains: create/list/show/delete through the library and the CLI; one embedder per domain."""

from __future__ import annotations

import pytest

from tidyllm.errors import (
    ChunkingError,
    DomainExists,
    DomainNotFound,
    EmbedderMismatch,
    KnowledgeError,
)
from tidyllm.extraction import ExtractedDocument, Page
from tidyllm.knowledge import (
    create_domain,
    delete_domain,
    index_document,
    list_domains,
    show_domain,
)

DOC = ExtractedDocument(mime="text/plain", pages=(Page(1, "Stress tests project capital."),))


def test_create_list_show_delete(sm) -> None:
    domain = create_domain(sm, "policies", description="HR policies", chunk_size=120, overlap=10)
    assert (domain.embedder, domain.dimension) == ("minilm-l6-v2-int8", 384)
    assert (domain.chunk_size, domain.chunk_overlap, domain.language) == (120, 10, "english")
    index_document(
        sm, domain="policies", document=DOC, source_uri="mem://a", version="1", content_hash="a"
    )
    stats = show_domain(sm, "policies")
    assert (stats.documents, stats.chunks, stats.pages) == (1, 1, 1)
    assert stats.domain.last_ingest_at is not None
    assert [s.domain.name for s in list_domains(sm)] == ["policies"]
    removed = delete_domain(sm, "policies")
    assert removed.chunks == 1
    assert list_domains(sm) == []
    with sm.connection() as conn:
        assert conn.execute("SELECT count(*) FROM chunks").fetchone()[0] == 0


def test_duplicate_and_missing_domains_are_clear_errors(sm) -> None:
    create_domain(sm, "a")
    with pytest.raises(DomainExists, match="'a' already exists"):
        create_domain(sm, "a")
    with pytest.raises(DomainNotFound, match="'nope' does not exist"):
        show_domain(sm, "nope")
    with pytest.raises(DomainNotFound):
        index_document(
            sm, domain="nope", document=DOC, source_uri="x", version="1", content_hash="h"
        )


@pytest.mark.parametrize(
    "name", ["", "A", "../etc", "a b", "a;drop table domains", "x" * 64, "é", "-lead", None, 3]
)
def test_hostile_domain_names_are_refused(data_dir, name) -> None:
    from tidyllm.session import UnifiedSessionManager

    # The name is refused before any connection is made (the URL points nowhere).
    with UnifiedSessionManager(data_dir=data_dir, database={"url": "postgresql://nowhere/x"}) as m:
        with pytest.raises(KnowledgeError, match="invalid domain name"):
            create_domain(m, name)
        with pytest.raises(KnowledgeError, match="invalid domain name"):
            show_domain(m, name)


def test_settings_are_validated(sm) -> None:
    with pytest.raises(ChunkingError):
        create_domain(sm, "a", chunk_size=4)
    with pytest.raises(ChunkingError):
        create_domain(sm, "a", chunk_size=100, overlap=100)
    with pytest.raises(KnowledgeError, match="unknown text-search language 'klingon'"):
        create_domain(sm, "a", language="klingon")
    with pytest.raises(EmbedderMismatch, match="not the configured embedder"):
        create_domain(sm, "a", embedder="titan-v2")
    assert list_domains(sm) == []


def test_a_domain_refuses_vectors_from_another_embedder(sm) -> None:
    create_domain(sm, "legacy")
    with sm.connection() as conn:  # a domain created by a process configured with Titan
        conn.execute("UPDATE domains SET embedder = 'titan-embed-v2', dimension = 1024")
    with pytest.raises(EmbedderMismatch, match="never mixed"):
        index_document(
            sm, domain="legacy", document=DOC, source_uri="mem://a", version="1", content_hash="a"
        )
    from tidyllm.knowledge import search

    with pytest.raises(EmbedderMismatch):
        search(sm, "legacy", "capital")


def test_domains_cli(cli, cli_env) -> None:
    created = cli("domains", "create", "fed", "--description", "Fed reports", "--chunk-size", "150")
    assert created.exit_code == 0, created.output
    assert "created domain fed" in created.output
    again = cli("domains", "create", "fed")
    assert again.exit_code == 1 and "already exists" in again.output
    listed = cli("domains", "list")
    assert "fed" in listed.output and "never" in listed.output
    shown = cli("domains", "show", "fed")
    assert "150 tokens" in shown.output and "Fed reports" in shown.output
    refused = cli("domains", "delete", "fed", input="n\n")
    assert refused.exit_code == 1 and "was not deleted" in refused.output
    assert "fed" in cli("domains", "list").output
    deleted = cli("domains", "delete", "fed", "--yes")
    assert deleted.exit_code == 0 and "deleted domain fed" in deleted.output
    assert "no domains yet" in cli("domains", "list").output
    missing = cli("domains", "show", "fed")
    assert missing.exit_code == 1 and "does not exist" in missing.output
