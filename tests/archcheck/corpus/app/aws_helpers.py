# ruff: noqa
"""Re-exports boto3 names; importing is not calling."""

from boto3 import Session
from boto3 import client as make_client
