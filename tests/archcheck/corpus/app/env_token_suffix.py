# ruff: noqa
"""Credential names ending in _API_TOKEN or _LLM_KEY."""

import os

hf = os.getenv("HUGGINGFACE_API_TOKEN")  # expect: TL501
llm = os.environ["INTERNAL_LLM_KEY"]  # expect: TL501
hub = os.environ.get("HF_TOKEN")  # expect: TL501
