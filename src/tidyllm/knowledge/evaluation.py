"""Retrieval and answer evaluation on BEIR-format datasets: dense, full text and hybrid.

The corpus is indexed into a scratch domain through the normal
``index_document`` path (same chunking, context and embedder). Corpus rows
that name a ``source`` file and a ``page`` in their metadata are put back
together into one multi-page document per file, as ``tidyllm ingest`` would
index it; other rows are one-page documents of their own. Every query runs in
each mode; chunk hits are collapsed to corpus rows (pages) in rank order and
scored against the qrels: nDCG@10 (linear gain, as pytrec_eval/BEIR),
recall@10/100, MRR@10 and hit@1/5/10 (a right page in the top k). Where a
query has an answer phrase, ``ask`` answers it in each mode and the answer is
scored: does it cite a right page, does it contain the phrase. Queries marked
with a ``split`` (``tune``/``heldout``) are also reported per split.

Each query is embedded once and the vector reused by the dense and hybrid
searches, so the comparison is between retrieval methods, not embedding runs.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tidyllm.errors import KnowledgeError
from tidyllm.extraction.model import ExtractedDocument, Page
from tidyllm.knowledge.catalog import DocumentFilter
from tidyllm.knowledge.domains import (
    DEFAULT_CHUNK_SIZE,
    DEFAULT_OVERLAP,
    create_domain,
    delete_domain,
)
from tidyllm.knowledge.indexing import index_document
from tidyllm.knowledge.search import MODES, search
from tidyllm.settings import SearchSettings

DEPTH = 100
METRICS = ("ndcg@10", "recall@10", "recall@100", "mrr@10", "hit@1", "hit@5", "hit@10")
ANSWER_METRICS = ("cites_page", "has_phrase")
ALL = "all"
PREFIX = "beir/"


@dataclass(frozen=True)
class BeirDataset:
    """A loaded dataset: corpus ``{id: (title, text)}``, queries ``{id: text}``, qrels,
    and each row's metadata (``source``/``page``/``title`` of a page; ``answer``/``split``
    of a query)."""

    name: str
    corpus: dict[str, tuple[str, str]]
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]
    corpus_metadata: dict[str, dict[str, Any]] = field(default_factory=dict)
    query_metadata: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass
class EvalReport:
    """Metric values per mode (all queries) and per split, plus counts and the run id.

    ``results[mode][metric]`` covers every query; ``by_split[split][mode][metric]``
    holds ``all`` and, when queries are marked, ``tune`` and ``heldout``. Answer metrics
    (``cites_page``, ``has_phrase``) appear where queries have answer phrases.
    """

    dataset: str
    queries: int
    documents: int
    chunks: int
    results: dict[str, dict[str, float]] = field(default_factory=dict)
    by_split: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)
    split_sizes: dict[str, int] = field(default_factory=dict)
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


def find_datasets(root: Path) -> list[Path]:
    """Every BEIR dataset folder directly under ``root`` (a clear error when there is none)."""
    found = sorted(p for p in root.glob("*") if (p / "corpus.jsonl").is_file())
    if not found:
        raise KnowledgeError(
            f"no datasets under {str(root)!r} (folders with corpus.jsonl); "
            "name one with `tidyllm eval --dataset DIR`"
        )
    return found


def load_beir(directory: Path | str) -> BeirDataset:
    """Load ``corpus.jsonl``, ``queries.jsonl`` and ``qrels/test.tsv`` with clear errors."""
    root = Path(directory)
    if not root.is_dir():
        raise KnowledgeError(f"dataset folder {str(root)!r} does not exist")
    corpus_rows = _read_jsonl(root / "corpus.jsonl")
    query_rows = _read_jsonl(root / "queries.jsonl")
    corpus = {r["_id"]: (str(r.get("title") or ""), str(r.get("text") or "")) for r in corpus_rows}
    queries = {r["_id"]: str(r.get("text") or "") for r in query_rows}
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
    return BeirDataset(
        root.resolve().name,
        corpus,
        queries,
        qrels,
        {r["_id"]: _metadata(r) for r in corpus_rows},
        {r["_id"]: _metadata(r) for r in query_rows},
    )


def _metadata(row: Mapping[str, Any]) -> dict[str, Any]:
    metadata = row.get("metadata")
    return dict(metadata) if isinstance(metadata, Mapping) else {}


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


def hit(ranking: Sequence[str], relevant: Mapping[str, int], k: int) -> float:
    """1.0 when a relevant document is in the top k, else 0.0."""
    return 1.0 if any(relevant.get(d, 0) > 0 for d in ranking[:k]) else 0.0


def score_ranking(ranking: Sequence[str], relevant: Mapping[str, int]) -> dict[str, float]:
    """All of :data:`METRICS` for one query."""
    return {
        "ndcg@10": ndcg(ranking, relevant, 10),
        "recall@10": recall(ranking, relevant, 10),
        "recall@100": recall(ranking, relevant, 100),
        "mrr@10": mrr(ranking, relevant, 10),
        "hit@1": hit(ranking, relevant, 1),
        "hit@5": hit(ranking, relevant, 5),
        "hit@10": hit(ranking, relevant, 10),
    }


@dataclass(frozen=True)
class _Source:
    """One document to index: its uri, title and pages, and the corpus id of each page."""

    uri: str
    title: str | None
    pages: list[tuple[int, str, str]]  # (page number, corpus id, text)
    about: dict[str, Any] = field(default_factory=dict)  # document metadata, collections


#: Corpus metadata keys that describe the document (written as its sidecar metadata layer,
#: ``collections`` as collections of the scratch domain), so metadata filters can be
#: evaluated (``tidyllm eval --tag``, ``--collection``, ...).
DOCUMENT_KEYS = ("year", "authors", "tags", "doi", "arxiv_id", "isbn", "url")


def _about(meta: Mapping[str, Any]) -> dict[str, Any]:
    return {k: meta[k] for k in (*DOCUMENT_KEYS, "collections") if k in meta}


def _sources(data: BeirDataset) -> list[_Source]:
    """Corpus rows grouped into documents: by ``source`` file with ``page`` numbers, or alone."""
    grouped: dict[str, _Source] = {}
    for doc_id, (title, text) in data.corpus.items():
        meta = data.corpus_metadata.get(doc_id, {})
        source, page = meta.get("source"), meta.get("page")
        if isinstance(source, str) and source and isinstance(page, int) and page >= 1:
            entry = grouped.setdefault(
                source, _Source(PREFIX + source, meta.get("title"), [], _about(meta))
            )
            entry.pages.append((page, doc_id, text))
        else:
            body = f"{title}\n\n{text}" if title else text
            grouped[f"\0{doc_id}"] = _Source(
                PREFIX + doc_id, title or None, [(1, doc_id, body)], _about(meta)
            )
    for entry in grouped.values():
        entry.pages.sort()
    return list(grouped.values())


def _page_ids(hits: Sequence[Any], pages: Mapping[tuple[str, int], str]) -> list[str]:
    """The corpus ids of the hits' pages, in rank order, each once."""
    seen: dict[str, None] = {}
    for h in hits:
        doc_id = pages.get((h.source_uri, h.page))
        if doc_id is not None:
            seen.setdefault(doc_id, None)
    return list(seen)


@dataclass(frozen=True)
class IndexedSet:
    """A dataset indexed into a scratch domain: what :func:`measure` searches."""

    data: BeirDataset
    domain: str
    documents: int
    chunks: int
    pages: Mapping[tuple[str, int], str]  # (source uri, page) -> corpus id


@contextmanager
def indexed(
    sm: Any,
    directory: Path | str,
    *,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    overlap: int = DEFAULT_OVERLAP,
    contextual: bool = True,
    with_aliases: bool = True,
    keep_domain: bool = False,
    progress: Callable[[str], None] | None = None,
) -> Iterator[IndexedSet]:
    """The dataset indexed into a scratch domain, deleted on exit unless ``keep_domain``."""
    data = load_beir(directory)
    domain = f"eval-{uuid.uuid4().hex[:12]}"
    create_domain(
        sm, domain, description=f"evaluation of {data.name}", chunk_size=chunk_size, overlap=overlap
    )
    try:
        sources = _sources(data)
        chunks = _index(sm, domain, sources, contextual, with_aliases, progress)
        pages = {(src.uri, number): doc_id for src in sources for number, doc_id, _ in src.pages}
        yield IndexedSet(data, domain, len(sources), chunks, pages)
    finally:
        if not keep_domain:
            delete_domain(sm, domain)


def measure(
    sm: Any,
    target: IndexedSet,
    *,
    modes: Sequence[str] = MODES,
    tuning: SearchSettings | None = None,
    answers: bool = True,
    progress: Callable[[str], None] | None = None,
    where: DocumentFilter | None = None,
) -> EvalReport:
    """Run every query of an indexed set in every mode (and ask it), averaged per split.

    ``where`` restricts retrieval to the documents a metadata filter matches.
    """
    started = time.perf_counter()
    data = target.data
    tuning = tuning if tuning is not None else sm.settings.search
    query_ids = sorted(data.qrels)
    scores = _retrieval_scores(sm, target, query_ids, modes, tuning, progress, where)
    if answers:
        _answer_scores(sm, target, query_ids, modes, tuning, scores, progress, where)
    report = EvalReport(data.name, len(query_ids), target.documents, target.chunks)
    splits = _splits(data, query_ids)
    report.split_sizes = {name: len(ids) for name, ids in splits.items()}
    report.by_split = {name: _mean(scores, ids, modes) for name, ids in splits.items()}
    report.results = report.by_split[ALL]
    report.seconds = time.perf_counter() - started
    return report


def evaluate(
    sm: Any,
    directory: Path | str,
    *,
    modes: Sequence[str] = MODES,
    keep_domain: bool = False,
    log_run: bool = True,
    tuning: SearchSettings | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    overlap: int = DEFAULT_OVERLAP,
    contextual: bool = True,
    answers: bool = True,
    progress: Callable[[str], None] | None = None,
    where: DocumentFilter | None = None,
) -> EvalReport:
    """Index the dataset into a scratch domain, run every query in every mode, report metrics.

    ``where`` is a metadata filter applied to every retrieval (the corpus rows' ``year``,
    ``authors``, ``tags``, identifiers and ``collections`` describe the scratch documents).

    ``tuning`` replaces the ``search`` settings (for tuning runs); ``contextual=False``
    indexes chunks without their title and heading; ``answers=False`` skips the ``ask``
    measurements. ``progress`` receives one line per step.
    """
    started = time.perf_counter()
    tuning = tuning if tuning is not None else sm.settings.search
    with indexed(
        sm,
        directory,
        chunk_size=chunk_size,
        overlap=overlap,
        contextual=contextual,
        keep_domain=keep_domain,
        progress=progress,
    ) as target:
        report = measure(
            sm, target, modes=modes, tuning=tuning, answers=answers, progress=progress, where=where
        )
    report.seconds = time.perf_counter() - started
    if log_run:
        report.run_id = _log(sm, report, modes, tuning, chunk_size, overlap, contextual)
    return report


def _index(
    sm: Any,
    domain: str,
    sources: Sequence[_Source],
    contextual: bool,
    with_aliases: bool,
    progress: Callable[[str], None] | None,
) -> int:
    chunks = 0
    for number, src in enumerate(sources, start=1):
        pages = tuple(Page(page, text) for page, _, text in src.pages if text.strip())
        if not pages:
            continue
        body = "\f".join(page.text for page in pages)
        result = index_document(
            sm,
            domain=domain,
            document=ExtractedDocument(mime="text/plain", pages=pages),
            source_uri=src.uri,
            version="1",
            content_hash=hashlib.sha256(body.encode()).hexdigest(),
            title=src.title,
            contextual=contextual,
            with_aliases=with_aliases,
        )
        chunks += result.chunks
        if src.about:
            _describe(sm, domain, result.document_id, src.about)
        if progress and len(sources) <= 50:
            progress(f"indexed {number}/{len(sources)}: {src.uri[len(PREFIX) :]}")
    if progress and len(sources) > 50:
        progress(f"indexed {len(sources)} documents, {chunks} chunks")
    return chunks


def _describe(sm: Any, domain: str, document_id: int, about: Mapping[str, Any]) -> None:
    """A scratch document's metadata (sidecar layer) and collections, from its corpus rows."""
    from tidyllm.knowledge.collections import CollectionExists, add_to_collection, create_collection
    from tidyllm.knowledge.metadata import write_layer

    values = {k: about[k] for k in DOCUMENT_KEYS if k in about}
    if values:
        with sm.connection() as conn:
            write_layer(conn, document_id, "sidecar", values, replace=True)
    names = about.get("collections") or []
    for name in [names] if isinstance(names, str) else names:
        with suppress(CollectionExists):
            create_collection(sm, name, domain=domain)
        add_to_collection(sm, name, [document_id], domain=domain)


Scores = dict[str, dict[str, dict[str, float]]]  # query id -> mode -> metric -> value


def _retrieval_scores(
    sm: Any,
    target: IndexedSet,
    query_ids: Sequence[str],
    modes: Sequence[str],
    tuning: SearchSettings,
    progress: Callable[[str], None] | None,
    where: DocumentFilter | None = None,
) -> Scores:
    data = target.data
    vectors = sm.embedder().embed([data.queries[q] for q in query_ids])
    scores: Scores = {}
    for query_id, vector in zip(query_ids, vectors, strict=True):
        scores[query_id] = {}
        for mode in modes:
            result = search(
                sm,
                target.domain,
                data.queries[query_id],
                k=DEPTH,
                mode=mode,
                query_vector=vector,
                tuning=tuning,
                where=where,
            )
            ranking = _page_ids(result.hits, target.pages)
            scores[query_id][mode] = score_ranking(ranking, data.qrels[query_id])
    if progress:
        progress(f"searched {len(query_ids)} queries in {len(modes)} modes")
    return scores


def _answer_scores(
    sm: Any,
    target: IndexedSet,
    query_ids: Sequence[str],
    modes: Sequence[str],
    tuning: SearchSettings,
    scores: Scores,
    progress: Callable[[str], None] | None,
    where: DocumentFilter | None = None,
) -> None:
    """Add ``cites_page``/``has_phrase`` for queries with an answer phrase, per mode."""
    from tidyllm.answering.ask import ask
    from tidyllm.answering.scoring import score_answer

    data = target.data
    uri_page = {doc_id: key for key, doc_id in target.pages.items()}
    answered = [q for q in query_ids if isinstance(data.query_metadata[q].get("answer"), str)]
    for query_id in answered:
        phrase = data.query_metadata[query_id]["answer"]
        relevant = {uri_page[d] for d, g in data.qrels[query_id].items() if g > 0}
        for mode in modes:
            question = data.queries[query_id]
            answer = ask(
                sm, target.domain, question, mode=mode, trace=False, tuning=tuning, where=where
            )
            result = score_answer(answer, phrase, relevant)
            scores[query_id][mode]["cites_page"] = float(result.cites_right_page)
            scores[query_id][mode]["has_phrase"] = float(result.contains_phrase)
    if progress and answered:
        progress(f"asked {len(answered)} questions in {len(modes)} modes")


def _splits(data: BeirDataset, query_ids: Sequence[str]) -> dict[str, list[str]]:
    splits: dict[str, list[str]] = {ALL: list(query_ids)}
    for query_id in query_ids:
        split = data.query_metadata.get(query_id, {}).get("split")
        if isinstance(split, str) and split:
            splits.setdefault(split, []).append(query_id)
    return splits


def _mean(
    scores: Scores, query_ids: Sequence[str], modes: Sequence[str]
) -> dict[str, dict[str, float]]:
    """Per mode, each metric averaged over the queries that have it."""
    means: dict[str, dict[str, float]] = {}
    for mode in modes:
        values: dict[str, list[float]] = {}
        for query_id in query_ids:
            for name, value in scores[query_id][mode].items():
                values.setdefault(name, []).append(value)
        means[mode] = {name: sum(v) / len(v) for name, v in values.items()}
    return means


def _log(
    sm: Any,
    report: EvalReport,
    modes: Sequence[str],
    tuning: SearchSettings,
    chunk_size: int,
    overlap: int,
    contextual: bool,
) -> str | None:
    record = sm.tracker().log_run(
        run_name=f"eval {report.dataset}",
        params={
            "dataset": report.dataset,
            "queries": report.queries,
            "documents": report.documents,
            "chunks": report.chunks,
            "embedder": sm.embedder().name,
            "modes": ",".join(modes),
            "chunk_size": chunk_size,
            "overlap": overlap,
            "contextual": contextual,
            **{f"search.{key}": value for key, value in tuning.model_dump().items()},
        },
        metrics={
            f"{'' if split == ALL else split + '.'}{mode}.{name.replace('@', '_at_')}": value
            for split, results in report.by_split.items()
            for mode, values in results.items()
            for name, value in values.items()
        },
        tags={"tidyllm.kind": "retrieval-eval"},
    )
    return record.run_id
