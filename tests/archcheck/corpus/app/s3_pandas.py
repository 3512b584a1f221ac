# ruff: noqa
"""pandas reading and writing s3:// URLs."""

import pandas as pd


def run(bucket, df):
    a = pd.read_csv("s3://bucket/key.csv")  # expect: TL102
    b = pd.read_parquet(path="s3://bucket/t.parquet")  # expect: TL102
    df.to_parquet("s3://bucket/out.parquet")  # expect: TL102
    df.to_csv(f"s3://{bucket}/out.csv", index=False)  # expect: TL102
    return a, b
