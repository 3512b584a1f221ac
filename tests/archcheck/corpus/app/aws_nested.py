# ruff: noqa
"""Calls inside nested functions, classes, lambdas and comprehensions."""

import boto3


def outer():
    class Store:
        def __init__(self):
            self.s3 = boto3.client("s3")  # expect: TL101

        def make(self):
            def inner():
                return boto3.resource("s3")  # expect: TL101

            return inner()

    factory = lambda: boto3.Session()  # expect: TL101
    clients = [boto3.client(name) for name in ("s3", "sqs")]  # expect: TL101
    return Store, factory, clients
