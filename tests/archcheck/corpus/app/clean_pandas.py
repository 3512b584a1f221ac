# ruff: noqa
"""pandas on local paths and in-memory buffers."""

import io

import pandas as pd

a = pd.read_csv("data/local.csv")
b = pd.read_parquet(io.BytesIO(b""))
a.to_csv("out/local.csv")
