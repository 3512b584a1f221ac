# ruff: noqa
"""The pre-1.0 OpenAI module-level API."""

import os

import openai
from openai import ChatCompletion

openai.api_key = os.getenv("OPENAI_API_KEY")  # expect: TL403, TL501
openai.api_base = "https://llm.internal/v1"  # expect: TL403


def ask(question):
    reply = openai.ChatCompletion.create(model="gpt-4", messages=[])  # expect: TL403
    vector = openai.Embedding.create(input=[question], model="ada")  # expect: TL403
    return reply, vector, ChatCompletion.acreate(model="gpt-4")  # expect: TL403
