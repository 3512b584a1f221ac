"""Fixtures for the access tests: users made fast (`sm` comes from tests/conftest.py)."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def fast_argon2(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> None:
    """Argon2 with its cheapest parameters, so a test can log in dozens of times.

    The production parameters (argon2-cffi's RFC 9106 profile, ~0.1-0.5 s per hash) are
    kept for tests marked ``real_argon2``; everything else about hashing is the same.
    """
    if request.node.get_closest_marker("real_argon2"):
        return
    from argon2 import PasswordHasher

    from tidyllm.access import passwords

    fast = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    monkeypatch.setattr(passwords, "_hasher", lambda: fast)
    monkeypatch.setattr(passwords, "dummy_hash", lambda: fast.hash("tidyllm-no-such-user"))
