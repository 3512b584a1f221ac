# ruff: noqa
"""Local names that merely look like banned APIs."""

def client(name):
    return name


class Thing:
    def client(self, name):
        return name

    def connect(self):
        return self.client("s3")


def use(session, db):
    session.client("s3")
    db.connect()
    return client("s3"), Thing().connect()
