"""Plain-SQL schema migrations, applied in order under an advisory lock.

Files are ``migrations/NNNN_name.sql``. Each runs in its own transaction and
is recorded with a checksum in ``tidyllm_migrations``; an applied file that
was later edited is an error, not silently skipped. The transaction-scoped
advisory lock makes concurrent start-up (many workers at once) safe: the
first applies, the others wait and then find nothing to do.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from importlib import resources
from typing import Any

from tidyllm.errors import MigrationError

LOCK_KEY = 0x7469_6479_6C6C_6D  # "tidyllm" as a 64-bit advisory lock key
_FILE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")

_CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS tidyllm_migrations (
    version    integer PRIMARY KEY,
    name       text NOT NULL,
    checksum   text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)
"""


@dataclass(frozen=True)
class Migration:
    """One SQL file."""

    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def available_migrations() -> list[Migration]:
    """Every migration shipped with the package, in version order."""
    found = []
    for entry in resources.files("tidyllm.db").joinpath("migrations").iterdir():
        match = _FILE.match(entry.name)
        if match:
            found.append(Migration(int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise MigrationError(f"two migration files share a version: {versions}")
    return found


def apply_migrations(conn: Any) -> list[str]:
    """Apply what is missing; return the names applied. ``conn`` is a psycopg connection."""
    applied_now: list[str] = []
    for migration in available_migrations():
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY,))
            conn.execute(_CREATE_TABLE)
            row = conn.execute(
                "SELECT checksum FROM tidyllm_migrations WHERE version = %s",
                (migration.version,),
            ).fetchone()
            if row is not None:
                if row[0] != migration.checksum:
                    raise MigrationError(
                        f"migration {migration.version:04d}_{migration.name} was changed after "
                        "it was applied; add a new migration instead"
                    )
                continue
            try:
                conn.execute(migration.sql)
            except Exception as exc:
                raise MigrationError(
                    f"migration {migration.version:04d}_{migration.name} failed: {exc}"
                ) from exc
            conn.execute(
                "INSERT INTO tidyllm_migrations (version, name, checksum) VALUES (%s, %s, %s)",
                (migration.version, migration.name, migration.checksum),
            )
            applied_now.append(f"{migration.version:04d}_{migration.name}")
    return applied_now


def migration_head(conn: Any) -> str | None:
    """The newest applied migration, or None on an empty database."""
    exists = conn.execute("SELECT to_regclass('tidyllm_migrations') IS NOT NULL").fetchone()[0]
    if not exists:
        return None
    row = conn.execute(
        "SELECT version, name FROM tidyllm_migrations ORDER BY version DESC LIMIT 1"
    ).fetchone()
    return f"{row[0]:04d}_{row[1]}" if row else None
