# ruff: noqa
"""Import inside the function that uses it."""

def get():
    import boto3 as aws

    return aws.client("s3")  # expect: TL101
