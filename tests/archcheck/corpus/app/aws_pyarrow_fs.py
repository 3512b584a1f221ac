# ruff: noqa
"""pyarrow's S3 file system via `from pyarrow import fs`."""

from pyarrow import fs

s3 = fs.S3FileSystem(region="eu-west-1")  # expect: TL101
