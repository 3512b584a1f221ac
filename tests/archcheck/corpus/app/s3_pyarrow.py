# ruff: noqa
"""pyarrow reading and writing s3:// URLs."""

import pyarrow.parquet as pq


def run(table):
    t = pq.read_table("s3://bucket/t.parquet")  # expect: TL102
    pq.write_table(table, "s3://bucket/t2.parquet")  # expect: TL102
    return t
