# ruff: noqa
"""Two legacy drop-zone classes in one import statement."""

from drop_zones import (
    DropZoneWatcher,  # expect: TL601
    S3DropZoneManager,  # expect: TL601
)
