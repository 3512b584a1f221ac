# ruff: noqa
"""Clean: LLM clients in the allowed package."""

import openai


def llm():
    return openai.OpenAI()
