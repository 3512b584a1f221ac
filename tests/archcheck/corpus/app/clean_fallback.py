# ruff: noqa
"""An ImportError fallback with no call is not a violation."""

try:
    import boto3
except ImportError:
    boto3 = None

try:
    import psycopg2  # noqa: F401
except ImportError:
    psycopg2 = None

HAS_BOTO3 = boto3 is not None
