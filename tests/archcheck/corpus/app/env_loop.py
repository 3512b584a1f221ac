# ruff: noqa
"""Credential names read through a loop variable."""

import os

CREDENTIAL_VARS = ("AWS_REGION", "OPENAI_API_KEY", "ANTHROPIC_API_KEY")

for name in ["OPENAI_API_KEY", "ANTHROPIC_API_KEY"]:
    value = os.environ.get(name)  # expect: TL501

found = {var: os.getenv(var) for var in CREDENTIAL_VARS}  # expect: TL501


def check():
    for key in CREDENTIAL_VARS:
        if not os.environ[key]:  # expect: TL501
            return key
