# ruff: noqa
"""A parameter or a later loop rebinding a name that once held a credential name."""

import os

name = "OPENAI_API_KEY"


def read(name):
    return os.environ.get(name)


for name in ("LOG_LEVEL", "HOME"):
    print(os.getenv(name))
