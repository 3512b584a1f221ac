# ruff: noqa
"""Real-looking secrets beside the false-positive kinds: still reported."""

import logging

log = logging.getLogger(__name__)
API_KEY = "sk-proj-Q3v9XkT2mLw8ZrB4yN7pC1dF6hJ0sGaE"  # expect: TL502
password = "Tr0ub4dor&3"  # expect: TL502
DEFAULT_DSN = "postgresql://postgres:postgres@localhost:5432/app"  # expect: TL502
BACKUP = "mysql://backup:9fK2qLx7Rw@10.0.4.12/archive"  # expect: TL502
log.info("connecting to postgresql://etl:Kq8vX2mR9@prod-db.internal/warehouse")  # expect: TL502
KEYS = {"aws_access_key_id": "AKIA5RT7XK2WQZ3NLMB6"}  # expect: TL502


class Settings:
    SECRET_KEY = "django-insecure-8f3k2l9x0q7w5e1r"  # expect: TL502
