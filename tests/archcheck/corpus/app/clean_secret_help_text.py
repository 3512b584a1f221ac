# ruff: noqa
"""Connection-URL templates in text shown to users are not secrets."""

import argparse
import logging

log = logging.getLogger(__name__)
parser = argparse.ArgumentParser(
    epilog="Example: DATABASE_URL=postgresql://user:password@localhost:5432/tidyllm"
)
parser.add_argument("--db", help="database URL, e.g. postgresql://USER:PASS@localhost/db")
parser.add_argument("--dsn", help="like postgres://admin:admin123@localhost:5432/app")
USAGE = """Set DATABASE_URL, for example:
    export DATABASE_URL=postgresql://myuser:mypassword@localhost/mydb
"""


def explain():
    print("Try: postgresql://username:password@host:5432/database")
    log.warning("no database configured; set postgresql://user:changeme@127.0.0.1/db")
    raise SystemExit("expected mysql://root:secret@localhost/app")
