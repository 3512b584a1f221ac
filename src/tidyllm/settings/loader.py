"""Build :class:`Settings` from its layers and remember where each value came from.

Precedence, highest first: explicit arguments > environment (``TIDYLLM_*``
plus the standard ``DATABASE_URL``, ``MLFLOW_TRACKING_URI``, ``AWS_*``) >
settings file (``$TIDYLLM_CONFIG`` or ``./tidyllm.yaml``) > embedded
defaults. Errors name the key and the layer that supplied the bad value.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml
from pydantic import ValidationError

from tidyllm.errors import SettingsError
from tidyllm.redaction import redact, register_secret
from tidyllm.settings.schema import SECRET_FIELDS, SECRET_PREFIX, Settings

ENV_PREFIX = "TIDYLLM_"
CONFIG_ENV = "TIDYLLM_CONFIG"
DEFAULT_FILE = "tidyllm.yaml"
MAX_FILE_BYTES = 1_000_000

# Standard variable names other tools already use, mapped onto our schema.
# Listed in order of preference: the first one set wins within the env layer.
STANDARD_ENV: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("DATABASE_URL", ("database", "url")),
    ("MLFLOW_TRACKING_URI", ("mlflow", "tracking_uri")),
    ("MLFLOW_EXPERIMENT_NAME", ("mlflow", "experiment")),
    ("AWS_ENDPOINT_URL_S3", ("object_store", "endpoint_url")),
    ("AWS_ENDPOINT_URL", ("object_store", "endpoint_url")),
    ("AWS_REGION", ("object_store", "region")),
    ("AWS_DEFAULT_REGION", ("object_store", "region")),
    ("AWS_PROFILE", ("object_store", "profile")),
)
# Not settings: the config-file pointer, the credential-store key, and secrets by name.
_NOT_SETTINGS = {CONFIG_ENV, "TIDYLLM_MASTER_KEY"}


@dataclass
class LoadedSettings:
    """Validated settings plus the origin of every value (dotted path -> source)."""

    settings: Settings
    sources: dict[str, str] = field(default_factory=dict)
    config_file: Path | None = None

    def source_of(self, path: str) -> str:
        """Where the value at ``path`` came from; ``default`` when nobody set it."""
        while path:
            if path in self.sources:
                return self.sources[path]
            path = path.rpartition(".")[0]
        return "default"


def _flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Dotted leaf paths of a nested mapping (lists are leaves)."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            out.update(_flatten(value, path + "."))
        else:
            out[path] = value
    return out


def _set_path(target: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    for part in path[:-1]:
        node = target.setdefault(part, {})
        if not isinstance(node, dict):
            raise SettingsError(f"setting {'.'.join(path)} conflicts with {part}")
        target = node
    target[path[-1]] = value


def _merge(base: dict[str, Any], layer: Mapping[str, Any]) -> None:
    for key, value in layer.items():
        if isinstance(value, Mapping) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = value


def find_config_file(explicit: Path | str | None, environ: Mapping[str, str]) -> Path | None:
    """The settings file to read: the argument, then ``$TIDYLLM_CONFIG``, then ./tidyllm.yaml."""
    if explicit is not None:
        return Path(explicit)
    if environ.get(CONFIG_ENV):
        return Path(environ[CONFIG_ENV])
    local = Path.cwd() / DEFAULT_FILE
    return local if local.exists() else None


def read_config_file(path: Path) -> dict[str, Any]:
    """Parse the YAML settings file; any problem is a SettingsError naming the file."""
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise SettingsError(f"settings file {path} is larger than {MAX_FILE_BYTES} bytes")
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SettingsError(f"settings file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingsError(f"cannot read settings file {path}: {exc.__class__.__name__}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise SettingsError(f"settings file {path} is not valid YAML{where}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise SettingsError(f"settings file {path} must hold a mapping of settings at the top")
    return data


def read_environment(environ: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """The environment layer and the variable name behind each dotted path."""
    layer: dict[str, Any] = {}
    origins: dict[str, str] = {}
    for name, path in reversed(STANDARD_ENV):  # reversed: the preferred name is applied last
        if environ.get(name):
            _set_path(layer, path, environ[name])
            origins[".".join(path)] = f"env {name}"
    for name in sorted(environ):
        if not name.startswith(ENV_PREFIX) or name in _NOT_SETTINGS:
            continue
        if name.startswith(ENV_PREFIX + "SECRET_"):
            continue  # a secret by name, read by the credential resolver
        path = tuple(p.lower() for p in name[len(ENV_PREFIX) :].split("__"))
        if not all(path):
            raise SettingsError(f"environment variable {name} is not a valid setting name")
        _set_path(layer, path, environ[name])
        origins[".".join(path)] = f"env {name}"
    return layer, origins


def _reject_file_secrets(data: Mapping[str, Any], path: Path) -> None:
    """Literal secrets never belong in the settings file: only ``secret:NAME`` references."""
    for dotted in SECRET_FIELDS:
        section, _, key = dotted.partition(".")
        value = (data.get(section) or {}).get(key) if isinstance(data.get(section), dict) else None
        if value is not None and not str(value).startswith(SECRET_PREFIX):
            register_secret(str(value))
            raise SettingsError(
                f"{path}: {dotted} holds a literal secret; store it with "
                f"`tidyllm credentials set NAME` and write `{key}: secret:NAME` instead"
            )


def _describe_error(exc: ValidationError, sources: Mapping[str, str]) -> str:
    err = exc.errors()[0]
    dotted = ".".join(str(p) for p in err["loc"])
    origin = next(
        (
            src
            for path, src in sources.items()
            if dotted == path or dotted.startswith(path + ".") or path.startswith(dotted + ".")
        ),
        "default",
    )
    message = err["msg"]
    if err["type"] == "extra_forbidden":
        message = "unknown setting" + _did_you_mean(err["loc"])
    more = f" (and {len(exc.errors()) - 1} more)" if len(exc.errors()) > 1 else ""
    return redact(f"invalid setting {dotted} from {origin}: {message}{more}")


def _did_you_mean(loc: tuple[Any, ...]) -> str:
    """``"; did you mean 'database'?"`` for a misspelled key, at any depth; else ``""``."""
    import difflib

    model: Any = Settings
    for part in loc[:-1]:
        if isinstance(part, int):
            continue  # an item of a list (zones)
        annotation = model.model_fields[part].annotation if part in model.model_fields else None
        inner = [a for a in getattr(annotation, "__args__", ()) if hasattr(a, "model_fields")]
        model = annotation if hasattr(annotation, "model_fields") else (inner or [None])[0]
        if model is None:
            return ""
    close = difflib.get_close_matches(str(loc[-1]).lower(), list(model.model_fields), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def load_settings(
    overrides: Mapping[str, Any] | None = None,
    *,
    config_file: Path | str | None = None,
    environ: Mapping[str, str] | None = None,
) -> LoadedSettings:
    """Merge defaults, the settings file, the environment and ``overrides``; validate once."""
    environ = os.environ if environ is None else environ
    merged: dict[str, Any] = {}
    sources: dict[str, str] = {}

    path = find_config_file(config_file, environ)
    if path is not None:
        file_layer = read_config_file(path)
        _reject_file_secrets(file_layer, path)
        _merge(merged, file_layer)
        sources.update({k: f"file {path}" for k in _flatten(file_layer)})

    env_layer, env_origins = read_environment(environ)
    _merge(merged, env_layer)
    sources.update(env_origins)

    if overrides:
        _merge(merged, dict(overrides))
        sources.update({k: "argument" for k in _flatten(overrides)})

    try:
        settings = Settings(**merged)
    except ValidationError as exc:
        raise SettingsError(_describe_error(exc, sources)) from None
    for dotted in SECRET_FIELDS:
        value = get_path(settings, dotted)
        if value is not None and not value.get_secret_value().startswith(SECRET_PREFIX):
            register_secret(value.get_secret_value())
    _register_url_password(settings.database.url)
    return LoadedSettings(settings=settings, sources=sources, config_file=path)


def _register_url_password(url: str | None) -> None:
    """A password inside DATABASE_URL is a secret too, even before the URL is used."""
    if not url:
        return
    try:
        register_secret(urlsplit(url).password)
    except ValueError:
        return  # malformed URLs are reported, with the password masked, when first used


def get_path(settings: Settings, dotted: str) -> Any:
    """The value at a dotted path such as ``database.password``."""
    obj: Any = settings
    for part in dotted.split("."):
        obj = getattr(obj, part)
    return obj
