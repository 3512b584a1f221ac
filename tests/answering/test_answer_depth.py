"""How many sources an answer is chosen from; how a chunk's retrieval score weighs its sentences.

The offline extractive answerer reads ``EXTRACTIVE_DEPTH`` (10) chunks even when ``k`` is
smaller: choosing among more sentences costs only their embedding, and the answer page is
in the top 10 more often than in the top 5. A generator (here the OpenAI-compatible test
double) is shown exactly ``k`` sources. Real embedded PostgreSQL and the real
all-MiniLM-L6-v2 embedder; a 14-page document so that more than ten chunks match.
"""

from __future__ import annotations

import re

import pytest

from openai_doubles import OpenAICompatibleEndpoint, chat_completion
from tidyllm.answering import ask
from tidyllm.answering.ask import EXTRACTIVE_DEPTH
from tidyllm.answering.extractive import RETRIEVAL_WEIGHT, extractive_answer, score_sentences
from tidyllm.answering.sentences import Sentence
from tidyllm.answering.sources import Source
from tidyllm.errors import SearchError
from tidyllm.knowledge.search import Hit

TOPICS = (
    "model inventory",
    "validation staffing",
    "stress test governance",
    "data quality checks",
    "vendor model oversight",
    "benchmarking of loss models",
    "back-testing of default rates",
    "documentation standards",
    "issue remediation tracking",
    "annual model review",
    "ongoing performance monitoring",
    "independent challenge",
    "model change management",
    "board reporting",
)
QUESTION = "How many reviewers took part in the annual model review?"


def _pages() -> dict[int, str]:
    pages = {
        n: f"This section covers {topic}. The unit describes its {topic} practices in detail."
        for n, topic in enumerate(TOPICS, start=1)
    }
    pages[10] += " In total, 85 reviewers took part in the annual model review."
    return pages


def _index(manager, domain: str = "deep") -> None:
    from tidyllm.extraction import ExtractedDocument, Page
    from tidyllm.knowledge import create_domain, index_document

    create_domain(manager, domain)
    index_document(
        manager,
        domain=domain,
        document=ExtractedDocument(
            mime="text/plain", pages=tuple(Page(n, t) for n, t in _pages().items())
        ),
        source_uri="mem://deep-report",
        version="1",
        content_hash="deep",
        title="Model risk report",
    )


@pytest.fixture
def deep(sm):
    _index(sm)
    return sm


@pytest.mark.parametrize("k", [1, 3, 5])
def test_the_extractive_answerer_reads_ten_sources_whatever_k(deep, k) -> None:
    answer = ask(deep, "deep", QUESTION, k=k, trace=False)
    assert EXTRACTIVE_DEPTH == 10
    assert [s.number for s in answer.sources] == list(range(1, EXTRACTIVE_DEPTH + 1))
    assert answer.found and "85 reviewers" in answer.text
    for citation in answer.citations:  # a citation [n] is sources[n - 1], page and all
        source = answer.sources[citation.number - 1]
        assert (source.hit.chunk_id, source.hit.page) == (citation.chunk_id, citation.page)
    assert 10 in {c.page for c in answer.citations}


def test_a_larger_k_reads_more(deep) -> None:
    answer = ask(deep, "deep", QUESTION, k=12, trace=False)
    assert len(answer.sources) == 12


@pytest.mark.parametrize("k", [0, -1, True, "5", 2.0])
def test_a_bad_k_is_a_clear_error(deep, k) -> None:
    with pytest.raises(SearchError, match="k must be a positive integer"):
        ask(deep, "deep", QUESTION, k=k, trace=False)


class NotFoundEndpoint(OpenAICompatibleEndpoint):
    """TEST DOUBLE: an OpenAI-compatible endpoint that always answers NOT FOUND."""

    def respond(self, body: dict) -> tuple[int, bytes]:
        return 200, chat_completion("NOT FOUND")


def test_a_generator_is_shown_exactly_k_sources(data_dir, database_url) -> None:
    from tidyllm.session import UnifiedSessionManager

    with (
        NotFoundEndpoint() as endpoint,
        UnifiedSessionManager(
            data_dir=data_dir,
            database={"url": database_url},
            llm={"provider": "openai", "endpoint": endpoint.url, "model": "double", "api_key": "k"},
        ) as manager,
    ):
        _index(manager)
        answer = ask(manager, "deep", QUESTION, k=3, trace=False)
        (request,) = endpoint.requests
    assert len(answer.sources) == 3
    prompt = request["body"]["messages"][-1]["content"]
    assert re.findall(r"^\[(\d+)\] \(", prompt, re.M) == ["1", "2", "3"]


def _source(number: int, text: str, score: float) -> Source:
    hit = Hit(
        number,
        1,
        "mem://doc",
        "Doc",
        number,
        0,
        len(text),
        None,
        text,
        {},
        score,
        None,
        None,
        1,
        None,
    )
    return Source(number, hit)


def test_a_sentence_weighs_by_its_chunks_retrieval_score(sm) -> None:
    text = "In total, approximately 85 reviewers took part in the validation work."
    question = "How many reviewers took part?"
    weak, strong = _source(1, text, 0.5), _source(2, text, 1.0)
    embedder = sm.embedder()
    vector = embedder.embed_query(question)
    sentences = [Sentence(weak, text), Sentence(strong, text)]
    relevance, scores = score_sentences(question, vector, sentences, embedder)
    assert relevance[0] == pytest.approx(relevance[1])  # same words, same closeness...
    ratio = (1 + RETRIEVAL_WEIGHT) / (1 + RETRIEVAL_WEIGHT * 0.5)
    assert scores[1] == pytest.approx(scores[0] * ratio)  # ...the better-retrieved chunk wins
    answer = extractive_answer(question, vector, [weak, strong], embedder)
    assert answer == f"\u201c{text}\u201d [2]"  # quoted once, from the better-retrieved chunk
