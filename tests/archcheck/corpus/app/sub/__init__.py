# ruff: noqa
"""Nested package for relative imports."""

