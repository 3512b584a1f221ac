"""The web UI: server-rendered pages over the same library calls as the REST API."""

from __future__ import annotations

from fastapi import FastAPI


def mount(app: FastAPI) -> None:
    """Add the web UI's routes and static files to ``app`` (none yet)."""
