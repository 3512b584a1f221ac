"""Answer generation by an LLM: Bedrock (Converse API) or an OpenAI-compatible endpoint.

Both get the same prompt: numbered sources, the rules for citing them, and
the question. Their clients come from the session manager (``sm.llm()``):
the Bedrock client already retries throttling with botocore's adaptive mode;
the OpenAI-compatible client is an ``httpx.Client`` with base URL and key.
Whatever the model writes is checked by :mod:`tidyllm.answering.citations`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tidyllm.answering.question_type import classify_question
from tidyllm.answering.sources import Source, sources_block
from tidyllm.errors import GenerationError, ServiceUnavailable
from tidyllm.redaction import redact

NOT_FOUND_MARK = "NOT FOUND"
MAX_TOKENS = 800
_BEDROCK_UNAVAILABLE = frozenset(
    {
        "ThrottlingException",
        "ServiceUnavailableException",
        "InternalServerException",
        "ModelNotReadyException",
    }
)

SYSTEM_PROMPT = (
    "You answer questions using only the numbered sources you are given.\n"
    "1. Give the kind of answer the question asks for, briefly: a number with its unit for "
    '"how many" or "how much", a percentage for "what share", a date or period for "when", '
    'a name for "who" or "which organisation", otherwise one or two sentences of explanation.\n'
    "2. Then quote, word for word and in double quotes, the sentence from a source that states "
    "it (or the part of that sentence that does), followed by that source's number in square "
    'brackets. Example: About 85 reviewers. "the MVU recruited approximately 85 such reviewers" '
    "[2]\n"
    "3. Support every further statement the same way. Never cite a source that does not "
    "contain the quoted words, and never change the quoted words.\n"
    "If the sources do not answer the question, reply with exactly "
    f"{NOT_FOUND_MARK} and nothing else."
)
REWRITE_PROMPT = (
    "Rewrite the user's last question as one standalone search query, using the "
    "conversation only to resolve what it refers to. Reply with the query only."
)


#: What the answer should be, by question type (see :mod:`tidyllm.answering.question_type`).
ANSWER_HINTS = {
    "percentage": "a percentage or share",
    "quantity": "a number or amount, with its unit",
    "duration": "a length of time",
    "date": "a date, year or period",
    "name": "a name (organisation, person, document)",
    "definition": "a definition",
    "reason": "a reason",
}


def user_prompt(question: str, sources: Sequence[Source]) -> str:
    """The user turn: the numbered sources, the question and the kind of answer it asks for."""
    hint = ANSWER_HINTS.get(classify_question(question).kind)
    expected = f"\nExpected answer: {hint}" if hint else ""
    return f"Sources:\n\n{sources_block(sources)}\n\nQuestion: {question}{expected}"


def complete(handle: Any, system: str, user: str) -> str:
    """One completion from the configured remote LLM; returns its text."""
    if handle.provider == "bedrock":
        return _bedrock(handle, system, user)
    if handle.provider == "openai":
        return _openai(handle, system, user)
    raise GenerationError(f"LLM provider {handle.provider!r} does not generate text")


def generate_answer(handle: Any, question: str, sources: Sequence[Source]) -> str | None:
    """The model's cited answer, or None when it says the sources do not answer."""
    text = complete(handle, SYSTEM_PROMPT, user_prompt(question, sources)).strip()
    if not text or text.upper().startswith(NOT_FOUND_MARK):
        return None
    return text


def rewrite_question(handle: Any, history: Sequence[tuple[str, str]], question: str) -> str:
    """A standalone query for ``question`` given ``(role, text)`` history, from the LLM."""
    turns = "\n".join(f"{role}: {text}" for role, text in history)
    rewritten = complete(handle, REWRITE_PROMPT, f"{turns}\nuser: {question}").strip()
    return rewritten.splitlines()[0].strip() if rewritten else question


def _require_model(handle: Any) -> str:
    if not handle.model:
        raise GenerationError(f"llm.model must be set for the {handle.provider} provider")
    return handle.model


def _bedrock(handle: Any, system: str, user: str) -> str:
    """Bedrock Converse: one user turn, temperature 0."""
    model = _require_model(handle)
    try:
        response = handle.client.converse(
            modelId=model,
            system=[{"text": system}],
            messages=[{"role": "user", "content": [{"text": user}]}],
            inferenceConfig={"maxTokens": MAX_TOKENS, "temperature": 0.0},
        )
    except Exception as exc:  # botocore ClientError / EndpointConnectionError / ...
        response = getattr(exc, "response", None)
        if not isinstance(response, dict):
            raise ServiceUnavailable("Bedrock", redact(exc)) from exc
        code = str(response.get("Error", {}).get("Code", "unknown"))
        if code in _BEDROCK_UNAVAILABLE:
            raise ServiceUnavailable("Bedrock", f"{code} (after adaptive retries)") from exc
        raise GenerationError(f"Bedrock refused the request ({code}): {redact(exc)}") from exc
    try:
        parts = response["output"]["message"]["content"]
        return "".join(part.get("text", "") for part in parts)
    except (KeyError, TypeError) as exc:
        raise GenerationError("Bedrock returned a reply without a message") from exc


def _openai(handle: Any, system: str, user: str) -> str:
    """POST /chat/completions on an OpenAI-compatible endpoint, temperature 0."""
    model = _require_model(handle)
    body = {
        "model": model,
        "temperature": 0,
        "max_tokens": MAX_TOKENS,
        "messages": [{"role": "system", "content": system}, {"role": "user", "content": user}],
    }
    try:
        response = handle.client.post("chat/completions", json=body)
    except Exception as exc:  # httpx.TransportError and friends
        raise ServiceUnavailable("LLM endpoint", redact(exc)) from exc
    if response.status_code >= 500 or response.status_code == 429:
        raise ServiceUnavailable("LLM endpoint", f"HTTP {response.status_code}")
    if response.status_code >= 400:
        raise GenerationError(
            f"the LLM endpoint refused the request: HTTP {response.status_code} "
            f"{redact(response.text[:300])}"
        )
    try:
        return str(response.json()["choices"][0]["message"]["content"] or "")
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise GenerationError("the LLM endpoint returned a malformed reply") from exc
