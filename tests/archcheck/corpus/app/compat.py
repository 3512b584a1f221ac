# ruff: noqa
"""A compatibility shim that re-exports a legacy manager."""

from legacy.s3 import S3SessionManager as Manager  # expect: TL601
