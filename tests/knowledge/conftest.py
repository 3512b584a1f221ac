"""Fixtures for the knowledge tests: a session manager on a fresh database, and the Fed report
indexed once per module (embedding its ~110 chunks with the real model takes a while)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

from corpus_paths import FED_PDF


@pytest.fixture(scope="module")
def fed(module_database: str):
    """(session manager, IndexedVersion): the Fed report extracted and indexed into 'fed'."""
    from tidyllm.extraction import extract
    from tidyllm.knowledge import create_domain, index_document
    from tidyllm.session import UnifiedSessionManager

    root = Path(tempfile.mkdtemp(prefix="tidyllm-knowledge-"))
    try:
        with UnifiedSessionManager(data_dir=root, database={"url": module_database}) as manager:
            create_domain(manager, "fed", description="Fed OIG report 2015-SR-B-018")
            document = extract(FED_PDF)
            indexed = index_document(
                manager,
                domain="fed",
                document=document,
                source_uri=FED_PDF.resolve().as_uri(),
                version="2015-10-29",
                content_hash="fed-sha",
                title="OIG 2015-SR-B-018",
                metadata={"kind": "report"},
            )
            with manager.connection() as conn:  # as autovacuum would: term statistics
                conn.execute("ANALYZE chunks")
            yield manager, indexed
    finally:
        shutil.rmtree(root, ignore_errors=True)
