"""TEST DOUBLE: an OpenAI-compatible HTTP endpoint on loopback, for tests that need one.

No model can run here, so tests stand a real HTTP server in for one: it speaks the OpenAI
wire format (JSON over POST, ``/v1/...`` paths), records every request (path, Authorization
header, JSON body) and answers with whatever its ``respond`` method returns. Subclasses
decide the replies (a chat completion quoting a source, an embedding, an error); the client
code under test, its retries and its parsing stay real.

A reply may also be streamed, as the endpoint answers ``"stream": true``: ``respond``
returns an iterable of byte pieces (:func:`chat_completion_stream` makes the server-sent
events of a reply, word by word), each sent as one HTTP chunk and flushed, so a piece that
blocks (a generator waiting on a ``threading.Event``) holds the rest of the reply back.
:data:`CUT_OFF` among the pieces closes the connection there without the last chunk (a
stream that breaks off).
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

#: Among a streamed reply's pieces: close the connection here, mid-body.
CUT_OFF = object()


def chat_completion(text: str) -> bytes:
    """The body of a chat-completions reply whose one choice says ``text``."""
    return json.dumps({"choices": [{"message": {"content": text}}]}).encode()


def words_of(text: str) -> list[str]:
    """``text`` in word-sized pieces (each word with the spaces before it): joined, ``text``."""
    return re.findall(r"\s*\S+|\s+$", text)


def sse(data: object) -> bytes:
    """One server-sent ``data:`` event (``[DONE]`` as is, anything else as JSON)."""
    return b"data: " + (data if isinstance(data, bytes) else json.dumps(data).encode()) + b"\n\n"


def delta(text: str | None) -> bytes:
    """A ``chat.completion.chunk`` event carrying ``text`` (None: an empty delta)."""
    content = {} if text is None else {"content": text}
    return sse({"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": content}]})


def chat_completion_stream(pieces: Iterable[str], *, done: bool = True) -> Iterator[bytes]:
    """The events of a streamed reply: the role, a keep-alive comment, an empty delta, one
    delta per piece, the finish reason and ``[DONE]`` (unless ``done`` is False)."""
    yield sse({"choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]})
    yield b": keep-alive\n\n"
    yield delta(None)
    for piece in pieces:
        yield delta(piece)
    if done:
        yield sse({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
        yield sse(b"[DONE]")


def source_number(prompt: str, quote: str) -> int:
    """The number under which ``prompt`` lists the source holding ``quote`` (1: none does)."""
    for match in re.finditer(r"^\[(\d+)\] \([^)]*\)\n(.*?)(?=^\[\d+\] \(|\Z)", prompt, re.S | re.M):
        if quote in " ".join(match.group(2).split()):
            return int(match.group(1))
    return 1


class OpenAICompatibleEndpoint:
    """TEST DOUBLE: a loopback HTTP server speaking the OpenAI wire format.

    ``url`` is the base URL a client is given (``.../v1``); ``requests`` holds what was
    sent, as ``{"path", "auth", "body"}``. Use it as a context manager, or call
    :meth:`close`.
    """

    def __init__(self) -> None:
        self.requests: list[dict] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                auth = self.headers.get("Authorization")
                outer.requests.append({"path": self.path, "auth": auth, "body": body})
                status, payload = outer.respond(body)
                if not isinstance(payload, bytes):
                    self.stream(status, payload)
                    return
                self.send_response(status)
                if payload:
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def stream(self, status: int, pieces: Iterable[bytes | object]) -> None:
                """A ``text/event-stream`` reply in chunked encoding, piece by piece."""
                self.protocol_version = "HTTP/1.1"  # chunked encoding: a cut is detectable
                self.close_connection = True
                self.send_response(status)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Transfer-Encoding", "chunked")
                self.send_header("Connection", "close")
                self.end_headers()
                for piece in pieces:
                    if piece is CUT_OFF:
                        self.wfile.flush()
                        return
                    assert isinstance(piece, bytes)
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                    self.wfile.flush()
                self.wfile.write(b"0\r\n\r\n")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def respond(self, body: dict) -> tuple[int, bytes | Iterable[bytes | object]]:
        """(HTTP status, reply body; empty for none; or an iterable of pieces to stream) for
        one request's JSON body."""
        raise NotImplementedError

    def server_env(self, api_key: str = "k-recorded") -> dict[str, str]:
        """The environment that makes a ``tidyllm serve`` answer with this endpoint."""
        return {
            "TIDYLLM_LLM__PROVIDER": "openai",
            "TIDYLLM_LLM__ENDPOINT": self.url,
            "TIDYLLM_LLM__MODEL": "recorded",
            "TIDYLLM_LLM__API_KEY": api_key,
        }

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> OpenAICompatibleEndpoint:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class RecordedAnswerEndpoint(OpenAICompatibleEndpoint):
    """TEST DOUBLE: an OpenAI-compatible endpoint replying with a *recorded* answer.

    ``template``'s ``{n}`` is filled with the number under which the prompt lists the source
    holding ``quote``, as a model following the prompt would cite it. A request with
    ``"stream": true`` gets the text word by word (:func:`chat_completion_stream`); with
    ``gate`` set, the stream sends the first half of the words, sets ``half_sent`` and waits
    for ``gate`` before the rest. ``fault`` breaks a streamed reply: ``malformed`` (a line
    that is not JSON after a few words), ``cut`` (the connection closed mid-reply), ``no_done``
    (the reply ends without ``[DONE]``), ``status`` (HTTP 401 whose body echoes the request's
    key); ``multiline`` is no fault but each event's JSON split over several ``data:``
    lines, as the SSE format allows; ``unstreamed`` is an endpoint that ignores ``stream``
    and replies with one JSON body. A chat rewrite request (its system prompt starts with
    "Rewrite") gets the last question back, never streamed.
    """

    def __init__(self, template: str, quote: str) -> None:
        self.template = template
        self.quote = quote
        self.fault: str | None = None
        self.gate: threading.Event | None = None
        self.half_sent = threading.Event()
        super().__init__()

    def text_for(self, body: dict) -> str:
        return self.template.format(n=source_number(body["messages"][-1]["content"], self.quote))

    def respond(self, body: dict) -> tuple[int, bytes | Iterable[bytes | object]]:
        messages = body["messages"]
        if messages[0]["content"].startswith("Rewrite"):
            last = messages[-1]["content"].splitlines()[-1]
            return 200, chat_completion(last.removeprefix("user: "))
        text = self.text_for(body)
        if not body.get("stream") or self.fault == "unstreamed":
            return 200, chat_completion(text)
        if self.fault == "status":
            key = (self.requests[-1]["auth"] or "").removeprefix("Bearer ")
            return 401, json.dumps({"error": {"message": f"bad key {key}"}}).encode()
        return 200, self.pieces(words_of(text))

    def pieces(self, words: list[str]) -> Iterator[bytes | object]:
        half = len(words) // 2
        if self.fault == "malformed":
            yield from chat_completion_stream(words[:3], done=False)
            yield b'data: {"choices": [{"delta": {"content": "oops"\n\n'
            yield from (delta(w) for w in words[3:])
            yield sse(b"[DONE]")
            return
        if self.fault == "cut":
            yield from chat_completion_stream(words[:half], done=False)
            yield CUT_OFF
            return
        if self.fault == "no_done":
            yield from chat_completion_stream(words, done=False)
            return
        if self.fault == "multiline":  # no fault: an event's data may span several lines
            for event in chat_completion_stream(words):
                yield event.replace(b", ", b",\ndata: ")
            return
        events = list(chat_completion_stream(words))
        split = 3 + half  # the role, the keep-alive and the empty delta come first
        yield from events[:split]
        if self.gate is not None:
            self.half_sent.set()
            self.gate.wait(300)
        yield from events[split:]
