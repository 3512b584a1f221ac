# ruff: noqa
"""Enum values, field names and header names that merely name a secret."""

from enum import Enum


class CredentialField(str, Enum):
    API_KEY = "api_key"
    PASSWORD = "password"
    SECRET_KEY = "secret-key"
    ACCESS_TOKEN = "access_token"


class Headers:
    API_KEY = "X-API-Key"
    AUTH_TOKEN = "Authorization"


FIELDS = {"password": "db.password", "api_key": "llm.api_key"}
form = dict(password="Password", secret="client secret")
