"""Answers with verified citations: the offline extractive answerer, Bedrock, OpenAI-compatible.

``ask(sm, domain, question)`` retrieves from a knowledge domain, answers from
numbered sources and checks every ``[n]`` citation; ``chat`` keeps sessions in
PostgreSQL and rewrites follow-ups before retrieval; ``score_answer`` measures an
answer against a labelled question (right page cited, answer phrase contained).
See docs/knowledge.md.
"""

from tidyllm.answering.ask import NOT_FOUND, Answer, ask
from tidyllm.answering.citations import CheckedAnswer, Citation, check_citations
from tidyllm.answering.scoring import AnswerScore, score_answer
from tidyllm.answering.sources import Source

__all__ = [
    "NOT_FOUND",
    "Answer",
    "AnswerScore",
    "CheckedAnswer",
    "Citation",
    "Source",
    "ask",
    "check_citations",
    "score_answer",
]
