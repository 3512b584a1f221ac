# ruff: noqa
"""A secret-scanner script: its patterns and sample placeholders are not secrets."""

import re

PATTERNS = {
    "aws_access_key_id": r"AKIA[0-9A-Z]{16}",
    "aws_secret_access_key": r"(?i)aws(.{0,20})?['\"][0-9a-zA-Z/+]{40}['\"]",
    "password": r"password\s*[:=]\s*['\"][^'\"]+['\"]",
    "api_key": r"[a-z0-9]{32}",
}
DSN_WITH_PASSWORD = re.compile(r"(postgres|mysql)://\w+:\w+@")
URL_PASSWORD = re.compile(r"[a-z]+://[^:/]+:([^@]+)@")
SAMPLE_KEY = "AKIAXXXXXXXXXXXXXXXX"
SAMPLE_LINE = "aws_access_key_id = AKIA0000000000000000"
SAMPLE_SEQUENCE = "AKIA1234567890ABCDEF"
SAMPLE_WORDS = "AKIAEXAMPLEEXAMPLE12"
REDACTED = {"password": "********", "api_key": "sk-...", "secret": "<redacted>"}


def mask(finding, api_key="sk-xxxxxxxxxxxxxxxxxxxxxxxx"):
    return re.sub(PATTERNS["password"], "password=[MASKED]", finding)
