"""The CLI's log level: ``-v`` > ``TIDYLLM_LOG_LEVEL`` > ``log_level`` in the settings file.

Kept light (no pydantic, no settings validation) because it runs before every
command: the environment is read directly and the settings file only for its
top-level ``log_level``. A bad value here is not an error: the command's own
settings load reports it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path

LEVELS = {"DEBUG": logging.DEBUG, "INFO": logging.INFO, "WARNING": logging.WARNING}
LEVELS["ERROR"] = logging.ERROR
ENV = "TIDYLLM_LOG_LEVEL"
_NOISY = ("mlflow", "alembic")  # INFO chatter on stdout unless debugging


def _file_level(environ: Mapping[str, str]) -> str | None:
    path = Path(environ["TIDYLLM_CONFIG"]) if environ.get("TIDYLLM_CONFIG") else None
    if path is None:
        path = Path.cwd() / "tidyllm.yaml"
    try:
        if not path.is_file() or path.stat().st_size > 1_000_000:
            return None
        import yaml

        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except Exception:  # unreadable or invalid: the command's settings load says why
        return None
    value = data.get("log_level") if isinstance(data, dict) else None
    return value if isinstance(value, str) else None


def log_level(verbose: bool, environ: Mapping[str, str] | None = None) -> int:
    """The level to log at: DEBUG with ``-v``, else the setting, else WARNING."""
    if verbose:
        return logging.DEBUG
    environ = os.environ if environ is None else environ
    name = environ.get(ENV) or _file_level(environ)
    return LEVELS.get(name.strip().upper(), logging.WARNING) if name else logging.WARNING


def configure_logging(verbose: bool) -> int:
    """Set the root logger's level (and quiet MLflow/alembic unless at DEBUG); return it."""
    level = log_level(verbose)
    logging.basicConfig(level=level)
    logging.getLogger().setLevel(level)
    if level > logging.DEBUG:
        # MLflow and alembic log INFO chatter to stdout; MLflow re-reads this when imported.
        os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
        for noisy in _NOISY:
            logging.getLogger(noisy).setLevel(max(level, logging.WARNING))
    return level
