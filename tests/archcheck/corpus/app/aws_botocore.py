# ruff: noqa
"""botocore sessions."""

import botocore.session
from botocore.session import get_session

a = get_session()  # expect: TL101
b = botocore.session.get_session()  # expect: TL101
