# ruff: noqa
"""Loops over names that are not credentials."""

import os

for name in ["AWS_REGION", "LOG_LEVEL", "HOME"]:
    print(os.environ.get(name))
settings = {n: os.getenv(n) for n in ("TIDYLLM_DATA_DIR", "TIDYLLM_CONFIG")}
