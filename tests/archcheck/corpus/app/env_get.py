# ruff: noqa
"""get/getenv reads."""

import os

pw = os.environ.get("POSTGRES_PASSWORD")  # expect: TL501
url = os.getenv("DATABASE_URL", "")  # expect: TL501
