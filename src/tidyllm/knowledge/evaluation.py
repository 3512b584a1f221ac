"""Retrieval evaluation on a BEIR-format dataset: dense-only, full-text-only and hybrid.

The corpus is indexed into a scratch domain through the normal
``index_document`` path (same chunking, same embedder), every query is run in
each mode, chunk hits are collapsed to documents in rank order, and the
standard metrics are computed against the qrels: nDCG@10 (linear gain, as
pytrec_eval/BEIR), recall@10, recall@100 and MRR@10. Each query is embedded
once and the vector reused by the dense and hybrid modes, so the comparison is
between retrieval methods, not embedding runs.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tidyllm.errors import KnowledgeError
from tidyllm.extraction.model import ExtractedDocument, Page
from tidyllm.knowledge.domains import (
    DEFAULT_CHUNK_SIZE,
    DEFAULT_OVERLAP,
    create_domain,
    delete_domain,
)
from tidyllm.knowledge.indexing import index_document
from tidyllm.knowledge.search import DEFAULT_RRF_K, MODES, search

DEPTH = 100
METRICS = ("ndcg@10", "recall@10", "recall@100", "mrr@10")


@dataclass(frozen=True)
class BeirDataset:
    """A loaded dataset: corpus ``{id: (title, text)}``, queries ``{id: text}``, qrels."""

    name: str
    corpus: dict[str, tuple[str, str]]
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]


@dataclass
class EvalReport:
    """Metric values per mode, plus counts and where the run was logged."""

    dataset: str
    queries: int
    documents: int
    chunks: int
    results: dict[str, dict[str, float]] = field(default_factory=dict)
    seconds: float = 0.0
    run_id: str | None = None


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        raise KnowledgeError(f"the dataset has no {path.name} ({path})")
    rows = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise KnowledgeError(f"{path.name} line {number} is not JSON: {exc.msg}") from None
            if not isinstance(row, dict) or not isinstance(row.get("_id"), str):
                raise KnowledgeError(f"{path.name} line {number} has no string _id")
            rows.append(row)
    return rows


def load_beir(directory: Path | str) -> BeirDataset:
    """Load ``corpus.jsonl``, ``queries.jsonl`` and ``qrels/test.tsv`` with clear errors."""
    root = Path(directory)
    if not root.is_dir():
        raise KnowledgeError(f"dataset folder {str(root)!r} does not exist")
    corpus = {
        r["_id"]: (str(r.get("title") or ""), str(r.get("text") or ""))
        for r in _read_jsonl(root / "corpus.jsonl")
    }
    queries = {r["_id"]: str(r.get("text") or "") for r in _read_jsonl(root / "queries.jsonl")}
    qrels_path = root / "qrels" / "test.tsv"
    if not qrels_path.is_file():
        raise KnowledgeError(f"the dataset has no qrels/test.tsv ({qrels_path})")
    qrels: dict[str, dict[str, int]] = {}
    for number, line in enumerate(qrels_path.read_text(encoding="utf-8").splitlines(), 1):
        parts = line.split("\t")
        if number == 1 and parts[0] == "query-id":
            continue
        if not line.strip():
            continue
        if len(parts) != 3:
            raise KnowledgeError(f"qrels/test.tsv line {number}: expected 3 tab-separated fields")
        query_id, doc_id, score = parts
        if query_id not in queries or doc_id not in corpus:
            raise KnowledgeError(f"qrels/test.tsv line {number}: unknown query or document id")
        try:
            qrels.setdefault(query_id, {})[doc_id] = int(score)
        except ValueError:
            raise KnowledgeError(f"qrels/test.tsv line {number}: score is not an integer") from None
    if not qrels:
        raise KnowledgeError("qrels/test.tsv has no judgements")
    return BeirDataset(root.resolve().name, corpus, queries, qrels)


def ndcg(ranking: Sequence[str], relevant: Mapping[str, int], k: int) -> float:
    """nDCG@k with linear gain (``rel / log2(rank + 1)``)."""
    dcg = sum(relevant.get(d, 0) / math.log2(i + 2) for i, d in enumerate(ranking[:k]))
    ideal = sorted((g for g in relevant.values() if g > 0), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg > 0 else 0.0


def recall(ranking: Sequence[str], relevant: Mapping[str, int], k: int) -> float:
    """Share of the relevant documents found in the top k."""
    wanted = {d for d, g in relevant.items() if g > 0}
    return len(wanted & set(ranking[:k])) / len(wanted) if wanted else 0.0


def mrr(ranking: Sequence[str], relevant: Mapping[str, int], k: int) -> float:
    """Reciprocal rank of the first relevant document in the top k (0 if none)."""
    for i, d in enumerate(ranking[:k]):
        if relevant.get(d, 0) > 0:
            return 1.0 / (i + 1)
    return 0.0


def score_ranking(ranking: Sequence[str], relevant: Mapping[str, int]) -> dict[str, float]:
    """All of :data:`METRICS` for one query."""
    return {
        "ndcg@10": ndcg(ranking, relevant, 10),
        "recall@10": recall(ranking, relevant, 10),
        "recall@100": recall(ranking, relevant, 100),
        "mrr@10": mrr(ranking, relevant, 10),
    }


def _documents(hits: Sequence[Any], prefix: str) -> list[str]:
    seen: dict[str, None] = {}
    for hit in hits:
        seen.setdefault(hit.source_uri[len(prefix) :], None)
    return list(seen)


def evaluate(
    sm: Any,
    directory: Path | str,
    *,
    modes: Sequence[str] = MODES,
    keep_domain: bool = False,
    log_run: bool = True,
    rrf_k: int = DEFAULT_RRF_K,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    overlap: int = DEFAULT_OVERLAP,
) -> EvalReport:
    """Index the dataset into a scratch domain, run every query in every mode, report metrics."""
    started = time.perf_counter()
    data = load_beir(directory)
    domain = f"eval-{uuid.uuid4().hex[:12]}"
    create_domain(
        sm, domain, description=f"evaluation of {data.name}", chunk_size=chunk_size, overlap=overlap
    )
    prefix = "beir:"
    try:
        chunks = 0
        for doc_id, (title, text) in data.corpus.items():
            body = f"{title}\n\n{text}" if title else text
            if not body.strip():
                continue
            result = index_document(
                sm,
                domain=domain,
                document=ExtractedDocument(mime="text/plain", pages=(Page(1, body),)),
                source_uri=prefix + doc_id,
                version="1",
                content_hash=hashlib.sha256(body.encode()).hexdigest(),
                title=title or None,
            )
            chunks += result.chunks
        with sm.connection() as conn:  # fresh statistics: full-text term frequencies
            conn.execute("ANALYZE chunks")
        embedder = sm.embedder()
        query_ids = sorted(data.qrels)
        vectors = embedder.embed([data.queries[q] for q in query_ids])
        totals = {mode: dict.fromkeys(METRICS, 0.0) for mode in modes}
        for query_id, vector in zip(query_ids, vectors, strict=True):
            for mode in modes:
                result = search(
                    sm,
                    domain,
                    data.queries[query_id],
                    k=DEPTH,
                    mode=mode,
                    query_vector=vector,
                    rrf_k=rrf_k,
                )
                ranking = _documents(result.hits, prefix)
                for name, value in score_ranking(ranking, data.qrels[query_id]).items():
                    totals[mode][name] += value
        report = EvalReport(data.name, len(query_ids), len(data.corpus), chunks)
        report.results = {
            mode: {name: value / len(query_ids) for name, value in values.items()}
            for mode, values in totals.items()
        }
    finally:
        if not keep_domain:
            delete_domain(sm, domain)
    report.seconds = time.perf_counter() - started
    if log_run:
        record = sm.tracker().log_run(
            run_name=f"eval {data.name}",
            params={
                "dataset": data.name,
                "queries": report.queries,
                "documents": report.documents,
                "chunks": report.chunks,
                "embedder": sm.embedder().name,
                "modes": ",".join(modes),
                "rrf_k": rrf_k,
                "chunk_size": chunk_size,
                "overlap": overlap,
            },
            metrics={
                f"{mode}.{name.replace('@', '_at_')}": value
                for mode, values in report.results.items()
                for name, value in values.items()
            },
            tags={"tidyllm.kind": "retrieval-eval"},
        )
        report.run_id = record.run_id
    return report
