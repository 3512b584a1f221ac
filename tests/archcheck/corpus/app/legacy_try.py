# ruff: noqa
"""Legacy import inside an ImportError fallback."""

try:
    from tidyllm import UnifiedSessionManager as Manager
except ImportError:
    from legacy.s3 import S3Manager as Manager  # expect: TL601
