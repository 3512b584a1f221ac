"""Settings: one typed schema, layered sources, provenance for every value."""

from tidyllm.settings.loader import LoadedSettings, get_path, load_settings
from tidyllm.settings.schema import (
    SECRET_FIELDS,
    SECRET_PREFIX,
    DatabaseSettings,
    EmbedderSettings,
    LLMSettings,
    MlflowSettings,
    ObjectStoreSettings,
    SearchSettings,
    Settings,
    UploadRoute,
    UploadSettings,
    WebSettings,
    ZoneSettings,
)

__all__ = [
    "SECRET_FIELDS",
    "SECRET_PREFIX",
    "DatabaseSettings",
    "EmbedderSettings",
    "LLMSettings",
    "LoadedSettings",
    "MlflowSettings",
    "ObjectStoreSettings",
    "SearchSettings",
    "Settings",
    "UploadRoute",
    "UploadSettings",
    "WebSettings",
    "ZoneSettings",
    "get_path",
    "load_settings",
]
