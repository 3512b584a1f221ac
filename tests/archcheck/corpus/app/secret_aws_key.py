# ruff: noqa
"""Hard-coded AWS access key id (AWS's documented example key)."""

KEY = "AKIAIOSFODNN7EXAMPLE"  # expect: TL502
