"""A real ``tidyllm serve`` process on a free port, over a fresh database, for each module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from server_helpers import Server, serving, session_manager


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, module_database: str) -> Iterator[Server]:
    """``tidyllm serve --no-worker`` on a module-wide fresh database."""
    with serving(tmp_path_factory.mktemp("serve"), module_database, "--no-worker") as running:
        yield running


@pytest.fixture(scope="module")
def server_sm(server: Server):
    """A session manager in the test process on the server's database (to set up users)."""
    with session_manager(server) as sm:
        yield sm
