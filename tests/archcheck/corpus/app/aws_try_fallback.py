# ruff: noqa
"""The call sits behind an ImportError fallback; the call is the violation."""

try:
    import boto3
except ImportError:  # optional dependency
    boto3 = None


def get():
    if boto3 is None:
        return None
    return boto3.client("s3")  # expect: TL101
