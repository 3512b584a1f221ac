"""The API the migration map documents, as thin layers over the native session API.

The legacy session manager's callers used these names, but it never had them
(its callers failed silently). Here each one works and is tested; new code
should prefer the native methods named in each docstring.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tidyllm.errors import DatabaseError
from tidyllm.redaction import redact


class LegacyMethods:
    """Mixed into :class:`UnifiedSessionManager`; relies on its native methods."""

    def get_s3_client(self) -> Any:
        """The shared boto3 S3 client (native: ``s3_client()``)."""
        return self.s3_client()  # type: ignore[attr-defined]

    @contextmanager
    def get_postgres_connection(self) -> Iterator[Any]:
        """A pooled psycopg connection, returned to the pool on exit (native: ``connection()``)."""
        with self.connection() as conn:  # type: ignore[attr-defined]
            yield conn

    def execute_postgres_query(
        self, sql: str, params: Sequence[Any] | Mapping[str, Any] | None = None
    ) -> list[tuple[Any, ...]]:
        """Run one parameterised statement; return its rows ([] when it returns none).

        The statement runs in its own transaction, committed on success and
        rolled back on error. Parameters are always passed separately, never
        formatted into the SQL.
        """
        import psycopg

        with self.connection() as conn:  # type: ignore[attr-defined]
            try:
                with conn.transaction(), conn.cursor() as cur:
                    cur.execute(sql, params)
                    return cur.fetchall() if cur.description else []
            except psycopg.Error as exc:
                raise DatabaseError(f"query failed: {redact(exc).strip()}") from exc

    def get_mlflow_client(self) -> Any:
        """The shared ``MlflowClient`` (native: ``mlflow()``)."""
        return self.mlflow()  # type: ignore[attr-defined]

    def log_mlflow_experiment(
        self,
        *,
        params: Mapping[str, Any] | None = None,
        metrics: Mapping[str, float] | None = None,
        artifacts: Mapping[str, bytes | str | Path] | None = None,
        tags: Mapping[str, str] | None = None,
        run_name: str | None = None,
    ) -> Any:
        """Log one run; buffered to disk if MLflow is down (native: ``tracker().log_run``)."""
        return self.tracker().log_run(  # type: ignore[attr-defined]
            run_name=run_name,
            params=params or {},
            metrics=metrics or {},
            artifacts=artifacts or {},
            tags=tags or {},
        )

    def get_bedrock_client(self) -> Any:
        """A Bedrock runtime client from the shared boto3 session (native: ``llm().client``)."""
        from tidyllm.session.clients import bedrock_client

        return self._get(  # type: ignore[attr-defined]
            "bedrock",
            lambda: bedrock_client(self.boto3_session(), self.settings),  # type: ignore[attr-defined]
        )
