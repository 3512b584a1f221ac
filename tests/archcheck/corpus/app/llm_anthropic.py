# ruff: noqa
"""Anthropic clients, including Bedrock flavour."""

import anthropic

a = anthropic.Anthropic()  # expect: TL401
b = anthropic.AnthropicBedrock()  # expect: TL402
