# ruff: noqa
"""Password and key literals in assignments, keywords and dicts."""

password = "hunter22"  # expect: TL502


def connect(**kw):
    return kw


conn = connect(host="db", password="hunter22")  # expect: TL502
creds = {"aws_secret_access_key": "q8Xv3LmN2pR7tY0wZk5HdJ4sB9cF1gA6eU/iOnTx"}  # expect: TL502


class Client:
    def __init__(self):
        self.api_key = "sk-test-0123456789abcdef"  # expect: TL502
