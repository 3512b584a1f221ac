"""Shared set-up for the drop-zone benchmarks: a private PostgreSQL and a session."""

from __future__ import annotations

import shutil
import tempfile
import uuid
from contextlib import contextmanager
from pathlib import Path

import psycopg
from _services import EmbeddedPostgres

from tidyllm.dropzones import UnifiedDropZones
from tidyllm.session import UnifiedSessionManager


@contextmanager
def bench_env(zones_factory, **more):
    """Yield (UnifiedDropZones, workdir); zones_factory(workdir) -> list of zone dicts."""
    root = Path(tempfile.mkdtemp(prefix="tidyllm-bench-dz-"))
    pg = EmbeddedPostgres(root / "pg")
    pg.start()
    try:
        name = f"b_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(pg.url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        url = pg.url.replace("/postgres?", f"/{name}?")
        sm = UnifiedSessionManager(
            data_dir=str(root / "data"),
            database={"url": url, "pool_max": 20},
            zones=zones_factory(root),
            **more,
        )
        with UnifiedDropZones(sm) as dz:
            yield dz, root, url
        sm.close()
    finally:
        pg.stop()
        shutil.rmtree(root, ignore_errors=True)
