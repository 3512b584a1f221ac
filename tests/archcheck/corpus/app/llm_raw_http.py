# ruff: noqa
"""Raw HTTP calls to LLM provider hosts."""

import httpx
import requests
from requests import post

OPENAI_URL = "https://api.openai.com/v1/chat/completions"
HF = "https://api-inference.huggingface.co/models"


def call(model, payload, region):
    a = requests.post(OPENAI_URL, json=payload)  # expect: TL406
    b = httpx.post(  # expect: TL406
        f"https://generativelanguage.googleapis.com/v1beta/models/{model}:generateContent",
        json=payload,
    )
    c = post(url=f"{HF}/{model}", json=payload)  # expect: TL406
    d = requests.get("https://api.anthropic.com/v1/models")  # expect: TL406
    client = httpx.Client(base_url="https://api.anthropic.com")  # expect: TL406
    e = httpx.post(f"https://bedrock-runtime.{region}.amazonaws.com/model/x/invoke")  # expect: TL406
    return a, b, c, d, e, client


def generic(payload, key):
    base = "https://api.openai.com/v1"
    f = requests.request("POST", base + "/chat/completions", json=payload)  # expect: TL406
    g = requests.request("GET", "https://example.com/v1/models")
    return f, g
