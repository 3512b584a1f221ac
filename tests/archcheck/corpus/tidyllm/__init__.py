# ruff: noqa
"""Corpus stand-in for the tidyllm package."""

