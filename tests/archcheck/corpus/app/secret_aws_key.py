# ruff: noqa
"""Hard-coded AWS access key id (made up; AWS's documented example key is in clean_secret_aws_examples.py)."""

KEY = "AKIA4QZ7T2XK6LMB3RWD"  # expect: TL502
