"""The core objects command modules call, imported when a command runs, not when it loads.

Command modules import these names instead of the real ones, so that building a
command (for ``tidyllm CMD --help``) does not import the session manager and
with it pydantic, psycopg, boto3 and the credential store's cryptography. Each
name is called exactly like the real one and returns the real object.
"""

from __future__ import annotations

from typing import Any


def UnifiedSessionManager(*args: Any, **kwargs: Any) -> Any:
    """:class:`tidyllm.session.UnifiedSessionManager`, imported on first call."""
    from tidyllm.session import UnifiedSessionManager as cls

    return cls(*args, **kwargs)


def load_settings(*args: Any, **kwargs: Any) -> Any:
    """:func:`tidyllm.settings.load_settings`, imported on first call."""
    from tidyllm.settings import load_settings as load

    return load(*args, **kwargs)
