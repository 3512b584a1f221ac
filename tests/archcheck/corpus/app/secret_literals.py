# ruff: noqa
"""Password and key literals in assignments, keywords and dicts."""

password = "hunter22"  # expect: TL502


def connect(**kw):
    return kw


conn = connect(host="db", password="hunter22")  # expect: TL502
creds = {"aws_secret_access_key": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}  # expect: TL502


class Client:
    def __init__(self):
        self.api_key = "sk-test-0123456789abcdef"  # expect: TL502
