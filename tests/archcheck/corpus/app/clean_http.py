# ruff: noqa
"""HTTP calls to other hosts, and provider URLs that are not called."""

import httpx
import requests

DOCS = "see https://api.openai.com/v1 for the API reference"
local = httpx.Client(base_url="http://localhost:8000/v1")
page = requests.get("https://example.com/api.openai.com")


def fetch(url):
    return requests.post(url, json={}), httpx.get(f"https://{url}/health")
