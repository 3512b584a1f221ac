# ruff: noqa
"""Non-credential env reads, and writes, are fine."""

import os

region = os.environ.get("AWS_REGION", "eu-west-1")
home = os.getenv("HOME")
level = os.environ["LOG_LEVEL"]
os.environ["AWS_SECRET_ACCESS_KEY"] = "{masked}"
present = "DATABASE_URL" in os.environ
