# ruff: noqa
"""DSPy language models."""

import os

import dspy
import dspy as d

lm = dspy.LM("openai/gpt-4o-mini", api_key=os.environ["OPENAI_API_KEY"])  # expect: TL404, TL501
old = dspy.OpenAI(model="gpt-3.5-turbo")  # expect: TL404
d.settings.configure(lm=d.LM("bedrock/anthropic.claude-3"))  # expect: TL404
