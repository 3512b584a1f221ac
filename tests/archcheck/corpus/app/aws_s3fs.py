# ruff: noqa
"""s3fs file system."""

import s3fs

fs = s3fs.S3FileSystem(anon=False)  # expect: TL101
