"""TEST DOUBLE: an OpenAI-compatible HTTP endpoint on loopback, for tests that need one.

No model can run here, so tests stand a real HTTP server in for one: it speaks the OpenAI
wire format (JSON over POST, ``/v1/...`` paths), records every request (path, Authorization
header, JSON body) and answers with whatever its ``respond`` method returns. Subclasses
decide the replies (a chat completion quoting a source, an embedding, an error); the client
code under test, its retries and its parsing stay real.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def chat_completion(text: str) -> bytes:
    """The body of a chat-completions reply whose one choice says ``text``."""
    return json.dumps({"choices": [{"message": {"content": text}}]}).encode()


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
                self.send_response(status)
                if payload:
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def respond(self, body: dict) -> tuple[int, bytes]:
        """(HTTP status, reply body; empty for none) for one request's JSON body."""
        raise NotImplementedError

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> OpenAICompatibleEndpoint:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
