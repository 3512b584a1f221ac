# ruff: noqa
"""Dynamic import of a submodule, aliased import_module."""

from importlib import import_module as im

sess = im("boto3.session").Session()  # expect: TL101
