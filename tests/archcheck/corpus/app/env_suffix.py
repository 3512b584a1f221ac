# ruff: noqa
"""Credential-looking names by suffix, in a nested function."""

import os as operating_system


def cfg():
    return operating_system.environ.get("BILLING_DB_PASSWORD")  # expect: TL501
