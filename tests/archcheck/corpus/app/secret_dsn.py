# ruff: noqa
"""Passwords inside connection URLs."""

DSN = "postgresql://app:s3cr3tPass@db.internal:5432/app"  # expect: TL502


def url(host):
    return f"postgresql://app:hunter22@{host}/app"  # expect: TL502
