# ruff: noqa
"""__import__ with a constant."""

s3 = __import__("boto3").resource("s3")  # expect: TL101
