# ruff: noqa
"""from-import of a pandas reader."""

from pandas import read_json as rj

data = rj("s3a://bucket/data.json")  # expect: TL102
