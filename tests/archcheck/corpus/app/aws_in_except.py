# ruff: noqa
"""Violation inside the `except ImportError` branch itself."""

try:
    from tidyllm import UnifiedSessionManager

    s3 = UnifiedSessionManager().get_s3_client()
except ImportError:
    import boto3

    s3 = boto3.client("s3")  # expect: TL101
