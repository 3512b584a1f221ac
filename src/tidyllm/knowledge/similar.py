"""Similar papers: one vector per document, the documents closest to one, a collection report.

A document's vector is the normalised mean of its chunk vectors (``document_vectors``,
migration 0011). It was chosen over an embedding of title + abstract by measurement on
the labelled sets (``benchmarks/bench_doc_vectors.py``, docs/papers.md): the mean ranks
the document that holds a question's answer first more often, needs no extra embedding,
and is computed in SQL from the chunks in the transaction that writes them - so it is
always the vector of the content a search sees, and goes with the document (cascade).

The grant check is in the SQL that reads the document's vector (:data:`VISIBLE`), so a
document in a domain the actor was not granted answers exactly like a missing one; its
neighbours are searched only in its own domain (one embedder per domain: vectors of
different models are never compared).
"""

from __future__ import annotations

import csv
import io
import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from pgvector import HalfVector
from psycopg import sql

from tidyllm.access.actor import Actor
from tidyllm.access.grants import VISIBLE, visibility
from tidyllm.errors import DocumentNotFound, KnowledgeError, TidyLLMError
from tidyllm.ids import MAX_ID

log = logging.getLogger(__name__)

MAX_K = 100
MAX_REPORT_DOCUMENTS = 2_000  # pairwise: 2,000 documents are 2 million pairs
TABLE_DOCUMENTS = 30  # the text table shows the first 30; the CSV artifact has them all
CLOSEST_PAIRS = 10

_REFRESH = (
    "INSERT INTO document_vectors (document_id, domain_id, dimension, embedding) "
    "SELECT document_id, min(domain_id), min(dimension), l2_normalize(avg(embedding)) "
    "FROM chunks WHERE document_id = %(id)s GROUP BY document_id "
    "ON CONFLICT (document_id) DO UPDATE SET domain_id = EXCLUDED.domain_id, "
    "dimension = EXCLUDED.dimension, embedding = EXCLUDED.embedding, updated_at = now()"
)


def refresh_vector(conn: Any, document_id: int) -> None:
    """(Re)compute a document's vector from its chunks, in the caller's transaction."""
    conn.execute(_REFRESH, {"id": document_id})
    conn.execute(
        "DELETE FROM document_vectors WHERE document_id = %(id)s "
        "AND NOT EXISTS (SELECT 1 FROM chunks WHERE document_id = %(id)s)",
        {"id": document_id},
    )


def ensure_document_vector_index(conn: Any, dimension: int) -> None:
    """The partial HNSW index of ``dimension`` on document_vectors (384 is in 0011)."""
    conn.execute(
        sql.SQL(
            "CREATE INDEX IF NOT EXISTS {name} ON document_vectors USING hnsw "
            "((embedding::halfvec({dim})) halfvec_cosine_ops) WHERE dimension = {dim}"
        ).format(
            name=sql.Identifier(f"document_vectors_embedding_{dimension}_idx"),
            dim=sql.Literal(dimension),
        )
    )


@dataclass(frozen=True)
class SimilarDocument:
    document_id: int
    title: str | None
    source_uri: str
    similarity: float  # cosine similarity of the document vectors, -1..1


@dataclass(frozen=True)
class Similar:
    """The documents closest to ``document_id`` in its domain, closest first."""

    document_id: int
    domain: str
    title: str | None
    k: int
    documents: list[SimilarDocument]


def _check_id(document_id: object) -> int:
    if isinstance(document_id, bool) or not isinstance(document_id, int):
        raise DocumentNotFound(f"no document {str(document_id)[:40]!r}")
    if not 1 <= document_id <= MAX_ID:
        raise DocumentNotFound(f"no document {document_id}")
    return document_id


def _check_k(k: object) -> int:
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= MAX_K:
        raise KnowledgeError(f"k must be a whole number from 1 to {MAX_K}, not {str(k)[:40]}")
    return k


_SOURCE = sql.SQL(
    "SELECT doc.id, d.id, d.name, doc.title, v.dimension, v.embedding "
    "FROM documents doc JOIN domains d ON d.id = doc.domain_id "
    "LEFT JOIN document_vectors v ON v.document_id = doc.id "
    "WHERE doc.id = %(id)s AND {visible}"
).format(visible=VISIBLE)

# the HNSW scan (iterative: the domain filter still returns k rows), then the titles
_NEAREST = """
SELECT n.document_id, doc.title, doc.source_uri, 1 - n.distance
FROM (
    SELECT document_id, embedding::halfvec({dim}) <=> %(qv)s::halfvec({dim}) AS distance
    FROM document_vectors
    WHERE dimension = {dim} AND domain_id = %(domain_id)s AND document_id <> %(id)s
    ORDER BY embedding::halfvec({dim}) <=> %(qv)s::halfvec({dim})
    LIMIT %(k)s
) n JOIN documents doc ON doc.id = n.document_id
ORDER BY n.distance, n.document_id
"""


def similar_documents(
    sm: Any, document_id: int, k: int = 10, *, actor: Actor | None = None
) -> Similar:
    """The ``k`` documents of ``document_id``'s domain closest to it (1 <= k <= 100).

    :class:`DocumentNotFound` for a document that does not exist or that the actor may
    not see (the same error); :class:`KnowledgeError` for a bad ``k`` or a document
    without text (a metadata-only record has no vector).
    """
    _check_id(document_id)
    _check_k(k)
    with sm.connection() as conn, conn.transaction():
        row = conn.execute(_SOURCE, {"id": document_id, **visibility(actor)}).fetchone()
        if row is None:
            raise DocumentNotFound(
                f"no document {document_id}; `tidyllm docs list DOMAIN` lists a domain's documents"
            )
        _, domain_id, domain, title, dimension, vector = row
        if vector is None:
            raise KnowledgeError(
                f"document {document_id} has no indexed text, so nothing to compare it with"
            )
        conn.execute(
            "SELECT set_config('hnsw.iterative_scan', 'relaxed_order', true), "
            "set_config('hnsw.ef_search', %s, true)",
            (str(max(100, 2 * k)),),
        )
        query = sql.SQL(_NEAREST).format(dim=sql.Literal(int(dimension)))
        params = {"qv": vector, "domain_id": domain_id, "id": document_id, "k": k}
        rows = conn.execute(query, params).fetchall()
    found = [SimilarDocument(int(r[0]), r[1], r[2], round(float(r[3]), 4)) for r in rows]
    return Similar(document_id, domain, title, k, found)


# --- the collection report ----------------------------------------------------------------


@dataclass(frozen=True)
class Pair:
    first: int
    second: int
    similarity: float


@dataclass
class CollectionReport:
    """Pairwise similarity of a collection's documents and its closest pairs.

    ``documents`` are (id, title) in id order; ``matrix[i][j]`` the cosine similarity of
    documents i and j; ``without_text`` the members that have no vector (metadata-only).
    ``run_key`` names the MLflow run the report was handed to (the tracking outbox:
    written to disk at once, sent to MLflow in the background), None when it could not be.
    """

    domain: str
    collection: str
    documents: list[tuple[int, str | None]]
    matrix: list[list[float]]
    pairs: list[Pair]
    without_text: list[int] = field(default_factory=list)
    truncated: bool = False
    run_key: str | None = None
    text: str = ""


def _label(title: str | None, document_id: int, width: int = 48) -> str:
    label = " ".join((title or f"document {document_id}").split())
    return label if len(label) <= width else label[: width - 1] + "…"


def render_report(report: CollectionReport) -> str:
    """The report as text: the numbered documents, the table, the closest pairs."""
    docs = report.documents
    head = f"Similarity report: collection {report.collection!r} in domain {report.domain!r}"
    lines = [head, f"{len(docs)} document(s) compared (cosine similarity of document vectors)"]
    if report.truncated:
        lines.append(f"(only the first {MAX_REPORT_DOCUMENTS} documents by id are compared)")
    if report.without_text:
        ids = ", ".join(map(str, report.without_text[:20]))
        lines.append(f"without text to compare (metadata only): {ids}")
    lines.append("")
    for i, (doc_id, title) in enumerate(docs, 1):
        lines.append(f"{i:>4}  #{doc_id}  {_label(title, doc_id, 70)}")
    shown = min(len(docs), TABLE_DOCUMENTS)
    if shown >= 2:
        lines += ["", "Pairwise similarity" + (f" (first {shown})" if shown < len(docs) else "")]
        lines.append("      " + "".join(f"{j:>6}" for j in range(1, shown + 1)))
        for i in range(shown):
            cells = "".join(f"{report.matrix[i][j]:>6.2f}" for j in range(shown))
            lines.append(f"{i + 1:>6}{cells}")
    lines += ["", "Closest pairs"]
    if not report.pairs:
        lines.append("  (fewer than two documents with text)")
    titles = dict(docs)
    for pair in report.pairs:
        a, b = pair.first, pair.second
        lines.append(
            f"  {pair.similarity:.3f}  #{a} {_label(titles[a], a, 40)}  <->  "
            f"#{b} {_label(titles[b], b, 40)}"
        )
    return "\n".join(lines) + "\n"


def _csv(report: CollectionReport) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["document_id", "title", *[d for d, _ in report.documents]])
    for (doc_id, title), row in zip(report.documents, report.matrix, strict=True):
        writer.writerow([doc_id, title or "", *[f"{v:.4f}" for v in row]])
    return out.getvalue()


def collection_report(
    sm: Any,
    collection: str,
    *,
    domain: str | None = None,
    actor: Actor | None = None,
    log_run: bool = True,
) -> CollectionReport:
    """The pairwise similarity table and the closest pairs of a collection's documents.

    The collection is found as the actor may see it (``domain`` when the name is in
    several). The report is returned as text (``.text``) and, with ``log_run``, handed
    to the tracking outbox as an MLflow run with ``collection_report.txt`` and
    ``similarity.csv`` artifacts - written to disk in milliseconds, never waiting for
    MLflow; a tracking failure is logged and leaves ``run_key`` None.
    """
    from tidyllm.knowledge.collections import find_collection

    with sm.connection() as conn:
        found, dom = find_collection(conn, collection, domain=domain, actor=actor)
        rows = conn.execute(
            "SELECT doc.id, doc.title, v.embedding FROM collection_documents cd "
            "JOIN documents doc ON doc.id = cd.document_id "
            "LEFT JOIN document_vectors v ON v.document_id = doc.id "
            "WHERE cd.collection_id = %s AND doc.domain_id = %s ORDER BY doc.id LIMIT %s",
            (found.id, dom.id, MAX_REPORT_DOCUMENTS + 1),
        ).fetchall()
    truncated = len(rows) > MAX_REPORT_DOCUMENTS
    rows = rows[:MAX_REPORT_DOCUMENTS]
    with_text = [r for r in rows if r[2] is not None]
    documents = [(int(r[0]), r[1]) for r in with_text]
    matrix: list[list[float]] = []
    pairs: list[Pair] = []
    if with_text:
        vectors = np.array([_array(r[2]) for r in with_text], dtype=np.float32)
        vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        sims = np.clip(vectors @ vectors.T, -1.0, 1.0)
        matrix = np.round(sims, 4).tolist()
        upper = np.triu_indices(len(documents), k=1)
        order = np.argsort(-sims[upper], kind="stable")[:CLOSEST_PAIRS]
        pairs = [
            Pair(documents[upper[0][i]][0], documents[upper[1][i]][0], float(sims[upper][i]))
            for i in order
        ]
    report = CollectionReport(
        domain=dom.name,
        collection=found.name,
        documents=documents,
        matrix=matrix,
        pairs=pairs,
        without_text=[int(r[0]) for r in rows if r[2] is None],
        truncated=truncated,
    )
    report.text = render_report(report)
    if log_run:
        report.run_key = _log(sm, report)
    return report


def _array(value: Any) -> np.ndarray:
    return value.to_numpy() if isinstance(value, HalfVector) else np.asarray(value)


def _log(sm: Any, report: CollectionReport) -> str | None:
    values = [p.similarity for p in report.pairs]
    metrics = {"documents": float(len(report.documents))}
    if values:
        metrics["closest_pair_similarity"] = max(values)
    try:
        return sm.outbox().defer_run(
            run_name=f"collection report {report.collection}",
            params={"domain": report.domain, "collection": report.collection},
            metrics=metrics,
            artifacts={
                "collection_report.txt": report.text.encode(),
                "similarity.csv": _csv(report).encode(),
            },
            tags={"tidyllm.kind": "collection_report"},
        )
    except TidyLLMError as exc:  # the report stands without its run
        log.warning("collection report not handed to tracking: %s", exc)
        return None
