"""Helpers shared by the access tests (a module of its own: conftest is not importable)."""

from __future__ import annotations

PASSWORD = "correct horse battery staple"


def audit_rows(sm) -> list[tuple]:
    """Every audit row as (actor_name, action, target, detail, client), oldest first."""
    with sm.connection() as conn:
        return conn.execute(
            "SELECT actor_name, action, target, detail, client FROM audit_events ORDER BY id"
        ).fetchall()


def all_text(sm) -> str:
    """Every row of the identity tables and the audit log, as text (for leak checks)."""
    with sm.connection() as conn:
        parts = []
        for table in ("users", "api_tokens", "grants", "audit_events"):
            parts += [str(r) for r in conn.execute(f"SELECT * FROM {table}").fetchall()]  # noqa: S608
    return "\n".join(parts)
