"""Database plumbing: embedded PostgreSQL, connection parameters, schema migrations.

Nothing here opens a connection by itself: the session manager does, and
passes connections in.
"""

from tidyllm.db.dsn import connection_params
from tidyllm.db.embedded import embedded_running, ensure_embedded, stop_embedded
from tidyllm.db.migrations import apply_migrations, available_migrations, migration_head

__all__ = [
    "apply_migrations",
    "available_migrations",
    "connection_params",
    "embedded_running",
    "ensure_embedded",
    "migration_head",
    "stop_embedded",
]
