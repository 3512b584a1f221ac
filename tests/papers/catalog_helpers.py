"""Documents with metadata written straight into the database (fast, no embedder run):
for the catalog, collection and filtered-retrieval tests and the docs-list benchmark."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import numpy as np
from pgvector import HalfVector

from tidyllm.knowledge import create_domain
from tidyllm.knowledge.metadata import write_layer

DIM = 384


def domain_id(conn, name: str) -> int:
    return conn.execute("SELECT id FROM domains WHERE name = %s", (name,)).fetchone()[0]


def add_documents(
    sm,
    domain: str,
    count: int,
    *,
    chunks: int = 1,
    text: str = "apple river stone",
    seed: int = 0,
    create: bool = True,
) -> list[int]:
    """``count`` documents of ``chunks`` chunks each with random unit vectors; their ids."""
    if create:
        create_domain(sm, domain)
    rng = np.random.default_rng(seed)
    with sm.connection() as conn, conn.transaction():
        dom = domain_id(conn, domain)
        ids = [
            r[0]
            for r in conn.execute(
                "INSERT INTO documents (domain_id, source_uri, version, content_hash, title) "
                "SELECT %s, 'mem://' || %s || '/' || g, '1', md5(%s || g), 'doc ' || g "
                "FROM generate_series(1, %s) g RETURNING id",
                (dom, domain, uuid.uuid4().hex, count),
            )
        ]
        rows = []
        for doc in ids:
            for ordinal in range(chunks):
                vector = rng.normal(size=DIM).astype(np.float32)
                vector /= np.linalg.norm(vector)
                rows.append((dom, doc, ordinal, len(text), text, HalfVector(vector)))
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO chunks (domain_id, document_id, ordinal, page, start_char, "
                "end_char, token_count, text, dimension, embedding, language) "
                "VALUES (%s, %s, %s, 1, 0, %s, 3, %s, 384, %s, 'english')",
                rows,
            )
    return ids


def describe(sm, documents: dict[int, dict]) -> None:
    """Write each document's metadata as its sidecar layer."""
    with sm.connection() as conn, conn.transaction():
        for doc, values in documents.items():
            write_layer(conn, doc, "sidecar", values, replace=True)


def put_in_collection(sm, domain: str, name: str, ids: Sequence[int]) -> None:
    from tidyllm.knowledge.collections import add_to_collection, create_collection

    create_collection(sm, name, domain=domain)
    if ids:
        add_to_collection(sm, name, list(ids), domain=domain)


def random_vector(seed: int) -> np.ndarray:
    vector = np.random.default_rng(seed).normal(size=DIM).astype(np.float32)
    return vector / np.linalg.norm(vector)
