# ruff: noqa
"""Re-exports a factory through a package __init__."""

from .factory import client
