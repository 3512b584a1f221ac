"""Schemathesis against a real ``tidyllm serve``: every operation of the OpenAPI schema,
as an admin and as a viewer, must answer without a 5xx and as the schema says.

The schema is read from the running server's ``/api/v1/openapi.json``; each operation
gets a bounded number of generated requests (valid and invalid), derandomized so that
CI replays the same ones. The checks: no server error, a documented status code, a body
that matches the schema for that status, and a documented content type.

The viewer is granted ``granted``, a domain whose documents came in through its ingest
zone (so they have ledger files and originals). Path parameters are either what the
fuzzer generates or, as often, a real value (``granted``, ``scratch``, an existing
document or ledger id), so the requests reach past the 404 into the real code paths.

What is constrained, and why (nothing is excluded outright):

- ``DELETE /api/v1/domains/{name}`` and ``DELETE .../documents/{id}`` never name
  ``granted``: the other operations need its content. They may delete ``scratch``, a
  domain with its own document made for that.
- ``DELETE /api/v1/chats/{chat_id}`` may name the user's second chat session, never the
  first, so the chat routes keep a real session to read and post to.
- ``DELETE /api/v1/tokens/{token_id}`` never names the token the fuzzer authenticates
  with: revoking it would turn every later request into a 401.
- Uploads are fuzzed like the rest: schemathesis builds multipart bodies from the
  documented ``file`` array (random bytes, so mostly 400s for their type, a 201 at times).
- ``POST /api/v1/logout`` runs, but with the bearer token it ends no session (only a
  cookie session is ended), so nothing needs excluding.
"""

from __future__ import annotations

import io
from collections import Counter
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from tidyllm.access import add_grant, add_user, create_token
from tidyllm.dropzones import UnifiedDropZones
from tidyllm.knowledge import create_domain

PASSWORD = "correct horse battery staple"
EXAMPLES = 25  # per operation and role: ~20 operations x 2 roles
PROTECTED = "granted"  # the domain every check needs
SCRATCH = "scratch"  # a domain the fuzzer may delete
FILES = {
    "fieldwork.txt": b"Our fieldwork ended in March 2015. The report covers model validation.\n",
    "notes.md": b"# Notes\n\nThe Federal Reserve Bank of Boston leads the validation.\n",
}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    response_schema_conformance,
    content_type_conformance,
]


def _drop(sm: Any, zone: str, files: dict[str, bytes]) -> None:
    with UnifiedDropZones(sm) as dz:
        for name, data in files.items():
            dz.drop_data(io.BytesIO(data), zone=zone, name=name)
        dz.drain([zone], track=False)


@pytest.fixture(scope="module")
def fuzz_setup(server_sm) -> dict[str, Any]:
    """ada (admin) and vic (viewer of ``granted``), each with a token; ``granted`` and
    ``scratch`` with documents from their ingest zones, and a failed file in ``granted``."""
    tokens = {}
    for name, role in (("ada", "admin"), ("vic", "viewer")):
        add_user(server_sm, name, role, PASSWORD)
        created = create_token(server_sm, name, "fuzz")
        tokens[name] = (created.secret, created.info.id)
    for domain in (PROTECTED, SCRATCH):
        create_domain(server_sm, domain)
    add_grant(server_sm, PROTECTED, user="vic", role="viewer")
    _drop(server_sm, f"ingest-{PROTECTED}", {**FILES, "broken.pdf": b"%PDF-1.4 not really"})
    _drop(server_sm, f"ingest-{SCRATCH}", {"scratch.txt": b"Scratch content to delete.\n"})
    return {"tokens": tokens}


def _real_values(operation: Any, chats: list[str]) -> dict[str, Any]:
    """Values a path parameter of ``operation`` may take besides what the fuzzer makes."""
    destructive = operation.method.upper() == "DELETE"
    return {
        "name": [SCRATCH] if destructive else [PROTECTED, SCRATCH],
        "zone": [f"ingest-{PROTECTED}", f"ingest-{SCRATCH}"],
        "document_id": [1, 2, 3, 4],
        "file_id": [1, 2, 3, 4],
        "token_id": [1, 2, 3],
        "chat_id": chats[1:] if destructive else chats,
    }


def _chats(server: Any, headers: dict[str, str]) -> list[str]:
    """Two chat sessions of the user in ``granted`` (the second one may be deleted)."""
    made = []
    for title in ("kept", "spare"):
        response = httpx.post(
            f"{server.url}/api/v1/domains/{PROTECTED}/chats", json={"title": title}, headers=headers
        )
        if response.status_code == 201:  # (no chat routes: nothing to add)
            made.append(response.json()["id"])
    return made or ["00000000-0000-0000-0000-000000000000"]


def _allowed(operation: Any, params: dict[str, Any], token_id: int) -> bool:
    """No DELETE of the domain the checks need, nor of the token the fuzzer uses."""
    if operation.method.upper() != "DELETE":
        return True
    return params.get("name") != PROTECTED and params.get("token_id") != token_id


@pytest.fixture(scope="module", params=["viewer", "admin"])
def api_schema(request, server, fuzz_setup):
    """The running server's schema, authenticated as the role, with real path values."""
    user = {"viewer": "vic", "admin": "ada"}[request.param]
    secret, token_id = fuzz_setup["tokens"][user]
    headers = {"Authorization": f"Bearer {secret}"}
    chats = _chats(server, headers)
    schema = schemathesis.openapi.from_url(server.url + "/api/v1/openapi.json")

    @schema.hook
    def flatmap_path_parameters(context, path_parameters):
        if not path_parameters:
            return st.just(path_parameters)
        real = _real_values(context.operation, chats)
        return st.fixed_dictionaries(
            {
                key: st.one_of(st.sampled_from(real[key]), st.just(value))
                if key in real
                else st.just(value)
                for key, value in path_parameters.items()
            }
        ).filter(lambda params: _allowed(context.operation, params, token_id))

    return schema, headers


def test_every_operation_answers_as_the_schema_says(api_schema, subtests):
    """Each operation in turn (a subtest each): valid and invalid requests, no 5xx,
    documented statuses, bodies and content types."""
    schema, headers = api_schema
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20, [op.label for op in operations]
    seen: dict[str, Counter] = {}
    for operation in operations:
        strategy = st.one_of(
            operation.as_strategy(GenerationMode.POSITIVE),
            operation.as_strategy(GenerationMode.NEGATIVE),
        )

        @given(case=strategy)
        @settings(
            max_examples=EXAMPLES,
            derandomize=True,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def run(case):
            response = case.call_and_validate(headers=headers, checks=CHECKS, timeout=60)
            seen.setdefault(case.operation.label, Counter())[response.status_code] += 1

        with subtests.test(msg=operation.label):
            run()
    print("\n".join(f"{label}: {dict(statuses)}" for label, statuses in seen.items()))
    reached = [label for label, statuses in seen.items() if any(s < 300 for s in statuses)]
    assert len(reached) >= len(operations) // 2, seen  # the fuzzer got past the 4xx


def test_the_original_is_documented_with_any_content_type(server):
    """Found by schemathesis: the download is sent with its extracted type (text/markdown,
    application/pdf, ...) but only application/octet-stream was documented."""
    schema = httpx.get(server.url + "/api/v1/openapi.json").json()
    get = schema["paths"]["/api/v1/domains/{name}/documents/{document_id}/original"]["get"]
    assert list(get["responses"]["200"]["content"]) == ["*/*"]


def test_a_streamed_answer_documents_each_event(server):
    """Found by schemathesis: under OpenAPI 3.1 the schema of ``text/event-stream``
    describes one event ({event, data}); it was ``{"type": "string"}``."""
    schema = httpx.get(server.url + "/api/v1/openapi.json").json()
    ask = schema["paths"]["/api/v1/domains/{name}/ask"]["post"]
    event = ask["responses"]["200"]["content"]["text/event-stream"]["schema"]
    assert event["type"] == "object" and set(event["required"]) == {"event", "data"}
