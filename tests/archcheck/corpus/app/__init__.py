# ruff: noqa
"""Corpus application package."""

