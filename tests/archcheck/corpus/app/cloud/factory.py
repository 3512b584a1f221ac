# ruff: noqa
"""Re-exports boto3.client under the same name; no call here."""

from boto3 import client
