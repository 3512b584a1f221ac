# ruff: noqa
"""OpenAI clients."""

import openai
from openai import OpenAI

a = OpenAI()  # expect: TL401
b = openai.AsyncOpenAI(base_url="http://llm:8000/v1")  # expect: TL401
