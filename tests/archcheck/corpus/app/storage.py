# ruff: noqa
"""A local wrapper named `client` that goes through the session manager."""

from tidyllm import UnifiedSessionManager


def client(kind):
    if kind == "s3":
        return UnifiedSessionManager().get_s3_client()
    raise ValueError(kind)
