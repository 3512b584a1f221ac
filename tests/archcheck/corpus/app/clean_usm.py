# ruff: noqa
"""The blessed way."""

from tidyllm import UnifiedSessionManager

usm = UnifiedSessionManager()
s3 = usm.get_s3_client()
with usm.get_postgres_connection() as conn:
    conn.execute("SELECT 1")
tracking = usm.get_mlflow_client()
