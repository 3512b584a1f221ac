"""Row ids: every table's id is a PostgreSQL ``bigint``.

An id beyond :data:`MAX_ID` cannot exist; checking it before a query turns such an
input into "not found" (or a 422 at the API) instead of an SQL error.
"""

MAX_ID = 2**63 - 1
