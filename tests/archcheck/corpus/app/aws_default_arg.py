# ruff: noqa
"""Call in a default argument and in a decorator argument."""

import functools

import boto3


def handler(s3=boto3.client("s3")):  # expect: TL101
    return s3


@functools.lru_cache(maxsize=boto3.Session().get_available_regions("s3").__len__())  # expect: TL101
def cached():
    return None
