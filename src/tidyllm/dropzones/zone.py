"""A drop zone: its settings, its object store and its three folders.

Every zone has the same layout under its source (``s3://bucket/prefix/`` or a
local folder): ``incoming/`` where people drop files, ``processed/`` and
``failed/`` where the worker moves them. Keys in the ledger are relative to
``incoming/``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tidyllm.errors import ZoneNotFound
from tidyllm.settings.schema import ZoneSettings

INCOMING = "incoming/"
PROCESSED = "processed/"
FAILED = "failed/"
LOCATIONS = {"processed": PROCESSED, "failed": FAILED, "incoming": INCOMING}


class UnknownZone(ZoneNotFound):
    """A zone name that the settings file does not declare (a SettingsError; 404 over HTTP)."""


@dataclass
class Zone:
    """One configured zone with its store (from the session manager)."""

    settings: ZoneSettings
    store: Any

    @property
    def name(self) -> str:
        return self.settings.name

    @property
    def is_s3(self) -> bool:
        return self.settings.source.startswith("s3://")

    @property
    def local_root(self) -> Path | None:
        """The zone's folder for local zones (the store's root), else None."""
        return None if self.is_s3 else Path(self.store.root)

    @property
    def max_bytes(self) -> int:
        return int(self.settings.max_file_size_mb * 1024 * 1024)

    def incoming_key(self, key: str) -> str:
        return INCOMING + key

    def allows(self, key: str) -> bool:
        """True if the zone accepts this file type (by extension; empty list = all)."""
        allowed = self.settings.allowed_types
        if not allowed:
            return True
        ext = key.rsplit("/", 1)[-1].rpartition(".")[2].lower()
        return ext in {a.lower().lstrip(".") for a in allowed}
