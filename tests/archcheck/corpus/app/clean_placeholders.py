# ruff: noqa
"""Placeholders, templates and env-var names are not secrets."""

password = ""
api_key = "OPENAI_API_KEY"
secret = "${SECRET}"
template = "postgresql://{user}:{password}@{host}/db"
dsn = f"postgresql://{user}:{pw}@{host}/db"
masked = "***"
