# ruff: noqa
"""LiteLLM calls."""

import litellm
from litellm import acompletion, embedding as embed


def run(messages):
    reply = litellm.completion(model="gpt-4o", messages=messages)  # expect: TL405
    vectors = embed(model="text-embedding-3-small", input=["x"])  # expect: TL405
    return reply, vectors, acompletion(model="claude-3", messages=messages)  # expect: TL405
