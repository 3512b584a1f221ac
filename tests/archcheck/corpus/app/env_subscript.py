# ruff: noqa
"""Subscript reads of credential variables."""

import os

secret = os.environ["AWS_SECRET_ACCESS_KEY"]  # expect: TL501
key_id = os.environ["AWS_ACCESS_KEY_ID"]  # expect: TL501
