# ruff: noqa
"""Re-export through a package __init__ and a module alias."""

import app.cloud as cl

s3 = cl.client("s3")  # expect: TL101
