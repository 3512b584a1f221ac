"""Shared set-up for the drop-zone benchmarks: a private PostgreSQL and a session."""

from __future__ import annotations

from contextlib import contextmanager

from _services import private_database

from tidyllm.dropzones import UnifiedDropZones
from tidyllm.session import UnifiedSessionManager


@contextmanager
def bench_env(zones_factory, **more):
    """Yield (UnifiedDropZones, workdir); zones_factory(workdir) -> list of zone dicts."""
    with private_database("tidyllm-bench-dz-") as (root, url):
        sm = UnifiedSessionManager(
            data_dir=str(root / "data"),
            database={"url": url, "pool_max": 20},
            zones=zones_factory(root),
            **more,
        )
        with UnifiedDropZones(sm) as dz:
            yield dz, root, url
        sm.close()
