"""ask(): retrieve, answer from numbered sources, verify every citation.

The flow is the same for every provider: search (``mode``: hybrid by default,
or dense / text only, so answers can be measured per retrieval mode) → a relevance gate
(nothing retrieved is close enough: "Not found in the documents") → an answer
(offline extractive quotes, Bedrock, or an OpenAI-compatible model) → every
``[n]`` checked against the retrieved sources, invalid ones dropped and
counted. Each step is a span of the question's trace.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tidyllm.access.actor import Actor
from tidyllm.answering.citations import Citation, check_citations
from tidyllm.answering.extractive import extractive_answer
from tidyllm.answering.generators import OnText, generate_answer
from tidyllm.answering.sources import Source, number_sources
from tidyllm.errors import SearchError
from tidyllm.knowledge.catalog import DocumentFilter
from tidyllm.knowledge.context import chunk_context, document_label
from tidyllm.knowledge.domains import require_documents
from tidyllm.knowledge.search import MODES, Hit, Mode, clean_query, search
from tidyllm.knowledge.tracing import QuestionTrace
from tidyllm.settings import SearchSettings

NOT_FOUND = "Not found in the documents."
DEFAULT_K = 5
#: Chunks the offline extractive answerer reads (at least; more when ``k`` is larger). It
#: picks sentences, so a deeper pool costs only their embedding (no prompt grows), and the
#: answer page is among the top 10 more often than the top 5: on the tune questions right
#: page 74 -> 78 of 88 (patent and annual report +2 each, the others equal). Generators
#: (Bedrock, OpenAI-compatible) are shown ``k`` sources.
EXTRACTIVE_DEPTH = 10
#: Cosine similarity (all-MiniLM-L6-v2) below which the best chunk is taken as unrelated.
#: Chosen on the tune questions with contextual chunks (title and heading embedded with the
#: text): unrelated questions (boiling points, world cups) stay below 0.16 on the Fed report,
#: while a real question ("to whom is the memorandum addressed?") can be as low as 0.29.
MIN_SIMILARITY = 0.25


@dataclass(frozen=True)
class Answer:
    """An answer with its verified citations.

    ``found`` is False when nothing relevant was retrieved (``text`` is then
    :data:`NOT_FOUND`). ``citations`` are the valid ones; ``dropped`` the
    invalid ones that were removed from ``text``. ``retrieval_query`` is what
    was searched (a chat follow-up is rewritten first).
    """

    question: str
    text: str
    found: bool
    citations: tuple[Citation, ...]
    dropped: tuple[Citation, ...]
    sources: tuple[Source, ...]
    provider: str
    model: str | None
    retrieval_query: str
    timings: Mapping[str, float] = field(default_factory=dict)
    #: Key of the question's trace in the tracking outbox (None: not traced, or it could
    #: not be buffered). Once sent, the MLflow trace has the tag ``tidyllm.trace_key``.
    trace_key: str | None = None


def ask(
    sm: Any,
    domain: str,
    question: str,
    *,
    k: int = DEFAULT_K,
    filters: Mapping[str, str] | None = None,
    retrieval_query: str | None = None,
    min_similarity: float = MIN_SIMILARITY,
    trace: bool = True,
    mode: Mode = "hybrid",
    tuning: SearchSettings | None = None,
    actor: Actor | None = None,
    progress: Callable[[str], None] | None = None,
    on_text: OnText | None = None,
    where: DocumentFilter | None = None,
) -> Answer:
    """Answer ``question`` from ``domain`` with checked citations.

    ``k`` is how many sources a generator is shown; the offline extractive answerer
    reads at least :data:`EXTRACTIVE_DEPTH` and ``Answer.sources`` holds every source
    the answer was chosen from (numbered from 1, so a citation ``[n]`` is
    ``sources[n - 1]``). ``retrieval_query`` replaces the question for retrieval (chat
    passes the rewritten follow-up). ``mode`` is the retrieval mode (``hybrid``, ``dense`` or
    ``text``); in ``text`` mode retrieval does not embed the query, so it is embedded
    here (with the hits) for the relevance gate and the extractive answerer.
    ``tuning`` replaces the ``search`` settings for the retrieval (evaluation runs).
    ``actor`` (None: the operator) must have a grant on the domain (as for :func:`search`).
    ``trace=False`` skips the MLflow trace; otherwise the trace is
    buffered (never sent on the answer's path) and ``Answer.trace_key`` names it.
    ``progress`` is told each stage as it starts (``retrieving``, then ``answering``), so a
    streamed answer (server-sent events) can show where a slow question is.
    ``on_text``, with a remote LLM (Bedrock, OpenAI-compatible), streams the model's call
    and is told each piece of its raw text as it is written: a draft whose citations are
    not checked yet. The returned :class:`Answer` is the same as without it (citations are
    checked on the whole text). The offline extractive answerer does not stream and never
    calls ``on_text``; nor does a question that retrieves nothing relevant.
    ``where`` retrieves only from the documents a metadata filter matches (as :func:`search`).
    """
    question = clean_query(question)
    if mode not in MODES:
        raise SearchError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    query = clean_query(retrieval_query) if retrieval_query is not None else question
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise SearchError(f"k must be a positive integer, got {k!r}")
    handle = sm.llm()
    depth = max(k, EXTRACTIVE_DEPTH) if handle.provider == "extractive" else k
    recorder = QuestionTrace(question=question, domain=domain, provider=handle.provider)
    tell = progress or (lambda stage: None)
    tell("retrieving")
    with recorder.span("retrieve", inputs={"query": query, "k": depth, "mode": mode}) as span:
        result = search(
            sm,
            domain,
            query,
            k=depth,
            filters=filters,
            mode=mode,
            tuning=tuning,
            actor=actor,
            where=where,
        )
        span.outputs = {
            "hits": [
                {"chunk_id": h.chunk_id, "source": h.source_uri, "page": h.page, "score": h.score}
                for h in result.hits
            ],
            "exact_fallback": result.exact_fallback,
        }
    if not result.hits:
        require_documents(sm, domain)  # an empty domain is not "Not found in the documents"
    tell("answering")
    sources = number_sources(result.hits)
    query_vector = result.query_vector
    similarities = [h.dense_similarity for h in result.hits]
    embed_seconds = result.timings.get("embed", 0.0)
    if result.hits and (query_vector is None or None in similarities):
        # text mode (or a hit only the text leg found): embed the query and those hits' text
        started = time.perf_counter()
        embedder = sm.embedder()
        if query_vector is None:
            query_vector = np.asarray(embedder.embed_query(query), dtype=np.float32)
        similarities = _similarities(embedder, query_vector, result.hits, similarities)
        embed_seconds += time.perf_counter() - started
    recorder.add_timing("embed", embed_seconds)
    best = max((s or 0.0 for s in similarities), default=0.0)
    text: str | None = None
    if sources and best >= min_similarity:
        with recorder.span("generate", inputs={"sources": len(sources)}) as span:
            if handle.provider == "extractive":
                text = extractive_answer(question, query_vector, sources, sm.embedder())
            else:
                text = generate_answer(handle, question, sources, on_text)
            span.outputs = {"answer": text}

    def finish(reply: str, found: bool, valid: tuple = (), dropped: tuple = ()) -> Answer:
        answer = Answer(
            question,
            reply,
            found,
            valid,
            dropped,
            tuple(sources),
            handle.provider,
            handle.model,
            query,
            recorder.timings(),
        )
        return recorder.finish(sm, answer) if trace else answer

    if text is None:
        return finish(NOT_FOUND, False)
    with recorder.span("check_citations") as span:
        checked = check_citations(text, sources)
        span.outputs = {
            "valid": len(checked.valid),
            "dropped": [{"number": c.number, "reason": c.reason} for c in checked.dropped],
        }
    found = bool(checked.valid)
    return finish(checked.text if found else NOT_FOUND, found, checked.valid, checked.dropped)


def _similarities(
    embedder: Any, vector: np.ndarray, hits: list[Hit], known: list[float | None]
) -> list[float | None]:
    """Cosine of the question to each hit, embedding the hits the dense leg did not score
    as indexing embeds a chunk: its context (document title, heading), then its text."""
    missing = [i for i, s in enumerate(known) if s is None]
    texts = [
        chunk_context(document_label(hits[i].title, hits[i].source_uri), hits[i].heading)
        + "\n"
        + hits[i].text
        for i in missing
    ]
    out = list(known)
    for i, cosine in zip(missing, embedder.embed(texts) @ vector, strict=True):
        out[i] = float(cosine)
    return out
