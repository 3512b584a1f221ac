"""``tidyllm config show`` and ``tidyllm init``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import BaseModel, SecretStr
from rich.table import Table

from tidyllm.cli.output import console
from tidyllm.errors import SettingsError
from tidyllm.redaction import MASK, redact
from tidyllm.settings import SECRET_PREFIX, load_settings
from tidyllm.settings.template import settings_template

app = typer.Typer(help="Show the effective settings.", no_args_is_help=True)


def _display(value: Any) -> str:
    if isinstance(value, SecretStr):
        raw = value.get_secret_value()
        return raw if raw.startswith(SECRET_PREFIX) else MASK
    return redact(value)


def _rows(obj: Any, prefix: str = "") -> list[tuple[str, Any]]:
    rows: list[tuple[str, Any]] = []
    for name in type(obj).model_fields:
        value = getattr(obj, name)
        path = f"{prefix}{name}"
        if isinstance(value, BaseModel):
            rows.extend(_rows(value, path + "."))
        elif isinstance(value, list) and value and isinstance(value[0], BaseModel):
            rows.append((path, [v.model_dump(mode="json") for v in value]))
        else:
            rows.append((path, value))
    return rows


@app.command("show")
def show(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    config: Annotated[
        Path | None, typer.Option(help="Settings file.", envvar="TIDYLLM_CONFIG")
    ] = None,
) -> None:
    """Print every setting with the layer it came from (secrets masked)."""
    loaded = load_settings(config_file=config)
    rows = [(p, _display(v), loaded.source_of(p)) for p, v in _rows(loaded.settings)]
    if as_json:
        console.print_json(json.dumps([{"key": k, "value": v, "source": s} for k, v, s in rows]))
        return
    table = Table("setting", "value", "source", title=f"settings file: {loaded.config_file}")
    for key, value, source in rows:
        table.add_row(key, value, source)
    console.print(table)


def init(
    path: Annotated[Path, typer.Argument(help="Where to write it.")] = Path("tidyllm.yaml"),
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Write a commented settings file with every setting at its default."""
    if path.exists() and not force:
        raise SettingsError(f"{path} already exists (use --force to overwrite)")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)  # `tidyllm init sub/dir/x.yaml`
        path.write_text(settings_template(), encoding="utf-8")
    except OSError as exc:
        raise SettingsError(f"cannot write {path}: {exc.strerror or exc}") from None
    console.print(f"wrote {path}")
