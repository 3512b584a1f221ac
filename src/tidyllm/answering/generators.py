"""Answer generation by an LLM: Bedrock (Converse API) or an OpenAI-compatible endpoint.

Both get the same prompt: numbered sources, the rules for citing them, and
the question. Their clients come from the session manager (``sm.llm()``):
the Bedrock client already retries throttling with botocore's adaptive mode;
the OpenAI-compatible client is an ``httpx.Client`` with base URL and key.
Whatever the model writes is checked by :mod:`tidyllm.answering.citations`.

Streaming: given ``on_text``, :func:`complete` asks the provider to stream (OpenAI-compatible
``"stream": true``, read as server-sent ``data:`` lines up to ``[DONE]``; Bedrock
``converse_stream``, its ``contentBlockDelta`` events) and hands each text delta of the
model's raw, unchecked output to ``on_text`` as it arrives; the returned text is the whole
reply, exactly what the non-streaming call returns, so the citation check is the same. A
stream that breaks off, sends a line that is not JSON, or ends without ``[DONE]`` (or
Bedrock's ``messageStop``) is a :class:`ServiceUnavailable` or :class:`GenerationError`,
never a partial answer passed off as whole.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
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
        "ModelStreamErrorException",
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


#: Told each piece of the model's text as it streams in (raw: its citations are unchecked).
OnText = Callable[[str], None]


def complete(handle: Any, system: str, user: str, on_text: OnText | None = None) -> str:
    """One completion from the configured remote LLM; returns its whole text.

    With ``on_text`` the reply is streamed and ``on_text`` gets each text delta in order
    (their concatenation is the returned text); without it, one plain request.
    """
    if handle.provider == "bedrock":
        if on_text is not None:
            return _bedrock_stream(handle, system, user, on_text)
        return _bedrock(handle, system, user)
    if handle.provider == "openai":
        if on_text is not None:
            return _openai_stream(handle, system, user, on_text)
        return _openai(handle, system, user)
    raise GenerationError(f"LLM provider {handle.provider!r} does not generate text")


def generate_answer(
    handle: Any, question: str, sources: Sequence[Source], on_text: OnText | None = None
) -> str | None:
    """The model's cited answer, or None when it says the sources do not answer.

    ``on_text`` (optional) streams the model's raw text as it is written (see
    :func:`complete`); the return value is the same either way.
    """
    text = complete(handle, SYSTEM_PROMPT, user_prompt(question, sources), on_text).strip()
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


def _bedrock_request(handle: Any, system: str, user: str) -> dict[str, Any]:
    """The Converse (and ConverseStream) arguments: one user turn, temperature 0."""
    return {
        "modelId": _require_model(handle),
        "system": [{"text": system}],
        "messages": [{"role": "user", "content": [{"text": user}]}],
        "inferenceConfig": {"maxTokens": MAX_TOKENS, "temperature": 0.0},
    }


def _bedrock_error(exc: Exception) -> Exception:
    """A botocore failure as ours: throttled or down is unavailable, the rest refused."""
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return ServiceUnavailable("Bedrock", redact(exc))
    code = str(response.get("Error", {}).get("Code", "unknown"))
    if code[:1].upper() + code[1:] in _BEDROCK_UNAVAILABLE:  # a stream's are camelCase
        return ServiceUnavailable("Bedrock", f"{code} (after adaptive retries)")
    return GenerationError(f"Bedrock refused the request ({code}): {redact(exc)}")


def _bedrock(handle: Any, system: str, user: str) -> str:
    """Bedrock Converse: one user turn, temperature 0."""
    request = _bedrock_request(handle, system, user)
    try:
        response = handle.client.converse(**request)
    except Exception as exc:  # botocore ClientError / EndpointConnectionError / ...
        raise _bedrock_error(exc) from exc
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
    if response.status_code >= 400:
        raise _openai_refusal(response)
    return _openai_text(response)


def _openai_text(response: Any) -> str:
    """The one choice's text of a (non-streamed) chat-completions reply."""
    try:
        return str(response.json()["choices"][0]["message"]["content"] or "")
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise GenerationError("the LLM endpoint returned a malformed reply") from exc


class _ToldError(Exception):
    """What ``on_text`` itself raised, carried past the stream's error mapping."""


def _telling(on_text: OnText) -> OnText:
    def tell(text: str) -> None:
        try:
            on_text(text)
        except Exception as exc:
            raise _ToldError from exc

    return tell


def _bedrock_stream(handle: Any, system: str, user: str, on_text: OnText) -> str:
    """Bedrock ConverseStream: each ``contentBlockDelta`` text to ``on_text``, up to
    ``messageStop``. An exception event (throttling, a model stream error) raises as the
    non-streaming call's errors do."""
    request = _bedrock_request(handle, system, user)
    on_text = _telling(on_text)
    pieces: list[str] = []
    stopped = False
    try:
        events = handle.client.converse_stream(**request)["stream"]
        for event in events:
            if "contentBlockDelta" in event:
                text = event["contentBlockDelta"].get("delta", {}).get("text")
                if isinstance(text, str) and text:
                    pieces.append(text)
                    on_text(text)
            elif "messageStop" in event:
                stopped = True
    except (GenerationError, ServiceUnavailable):
        raise
    except _ToldError as told:
        raise told.__cause__ from None  # the caller's own error, not the service's
    except Exception as exc:  # botocore ClientError / EventStreamError / a broken connection
        if isinstance(exc, (KeyError, TypeError, AttributeError)):
            raise GenerationError("Bedrock returned a malformed reply stream") from exc
        raise _bedrock_error(exc) from exc
    if not stopped:
        raise ServiceUnavailable("Bedrock", "the reply stream ended before messageStop")
    return "".join(pieces)


def _openai_refusal(response: Any) -> Exception:
    """An HTTP error status as ours: 429 and 5xx are unavailable, other 4xx refused."""
    if response.status_code >= 500 or response.status_code == 429:
        return ServiceUnavailable("LLM endpoint", f"HTTP {response.status_code}")
    return GenerationError(
        f"the LLM endpoint refused the request: HTTP {response.status_code} "
        f"{redact(response.text[:300])}"
    )


def _openai_stream(handle: Any, system: str, user: str, on_text: OnText) -> str:
    """POST /chat/completions with ``"stream": true``: server-sent ``data:`` lines of
    ``chat.completion.chunk`` JSON, each ``choices[0].delta.content`` to ``on_text``, up to
    ``data: [DONE]``. Comment lines (keep-alives), other fields and empty deltas are
    skipped. An endpoint that ignores ``stream`` and replies with one JSON body is read
    as such (one delta)."""
    model = _require_model(handle)
    on_text = _telling(on_text)
    body = {
        "model": model,
        "temperature": 0,
        "max_tokens": MAX_TOKENS,
        "stream": True,
        "messages": [{"role": "system", "content": system}, {"role": "user", "content": user}],
    }
    try:
        with handle.client.stream("POST", "chat/completions", json=body) as response:
            if response.status_code >= 400:
                response.read()
                raise _openai_refusal(response)
            if response.headers.get("content-type", "").startswith("application/json"):
                response.read()
                text = _openai_text(response)
                if text:
                    on_text(text)
                return text
            return _read_openai_events(response.iter_lines(), on_text)
    except (GenerationError, ServiceUnavailable):
        raise
    except _ToldError as told:
        raise told.__cause__ from None  # the caller's own error, not the service's
    except Exception as exc:  # httpx.TransportError (refused, reset, cut mid-body) and friends
        raise ServiceUnavailable("LLM endpoint", f"the reply stream broke: {redact(exc)}") from exc


def _sse_data(lines: Iterable[str]) -> Iterator[str]:
    """Each server-sent event's data: its ``data:`` lines joined by newlines (one may be
    split over several), a field's one leading space dropped, as the format says.
    Comments (``: keep-alive``) and other fields (``event:``, ``id:``) are skipped; an event
    the stream ends inside counts too."""
    data: list[str] = []
    for raw in lines:
        line = raw.rstrip("\r\n")
        if not line:
            if data:
                yield "\n".join(data)
            data = []
            continue
        field, _, value = line.partition(":")
        if field == "data":
            data.append(value.removeprefix(" "))
    if data:
        yield "\n".join(data)


def _read_openai_events(lines: Iterable[str], on_text: OnText) -> str:
    pieces: list[str] = []
    for event in _sse_data(lines):
        data = event.strip()
        if data == "[DONE]":
            return "".join(pieces)
        try:
            chunk = json.loads(data)
        except ValueError as exc:
            raise GenerationError("the LLM endpoint sent a stream line that is not JSON") from exc
        if not isinstance(chunk, dict):
            raise GenerationError("the LLM endpoint sent a malformed reply stream event")
        if "error" in chunk:
            raise GenerationError(
                f"the LLM endpoint failed while answering: {redact(str(chunk['error'])[:300])}"
            )
        for choice in chunk.get("choices") or ():
            delta = choice.get("delta") if isinstance(choice, dict) else None
            text = delta.get("content") if isinstance(delta, dict) else None
            if isinstance(text, str) and text:
                pieces.append(text)
                on_text(text)
    raise ServiceUnavailable("LLM endpoint", "the reply stream ended before [DONE]")
