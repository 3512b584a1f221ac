"""The commented settings file written by ``tidyllm init``, generated from the schema.

Generating it keeps the file and the schema from drifting apart: every
field appears with its description and default, commented out, so the file
is valid as written and each line can be uncommented on its own.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from tidyllm.settings.schema import Settings

HEADER = """\
# TidyLLM settings. Every key is optional: with nothing set, TidyLLM runs on
# embedded defaults (local object folder, embedded PostgreSQL, local MLflow store).
# Precedence: explicit arguments > environment (TIDYLLM_SECTION__KEY, DATABASE_URL,
# MLFLOW_TRACKING_URI, AWS_*) > this file > defaults. `tidyllm config show` shows
# the effective value of each setting and where it came from.
# Secrets never go in this file: store them with `tidyllm credentials set NAME`
# and refer to them as `secret:NAME`.
"""

ZONE_EXAMPLE = """\
# Drop zones (see docs): one entry per zone.
# zones:
#   - name: contracts
#     source: s3://my-bucket/dropzones/contracts/   # or a local folder
#     pipeline: extract
#     domain: legal
"""


def _yaml_value(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list):
        return json.dumps(value)  # a JSON list is a valid YAML flow sequence
    return json.dumps(str(value))  # JSON strings are valid YAML scalars


def _field_lines(model: type[BaseModel], indent: str) -> list[str]:
    lines = []
    for name, info in model.model_fields.items():
        if name == "zones":
            continue
        default = info.default
        if default is PydanticUndefined and info.default_factory is not None:
            default = info.default_factory()
        if isinstance(default, BaseModel):
            lines.append(f"# {indent}{name}:")
            lines.extend(_field_lines(type(default), indent + "  "))
            continue
        comment = f"  # {info.description}" if info.description else ""
        lines.append(f"# {indent}{name}: {_yaml_value(default)}{comment}")
    return lines


def settings_template() -> str:
    """The full commented settings file."""
    body = "\n".join(_field_lines(Settings, ""))
    return f"{HEADER}\n{body}\n\n{ZONE_EXAMPLE}"


def _reference_rows(model: type[BaseModel], prefix: str) -> list[str]:
    rows = []
    for name, info in model.model_fields.items():
        default = info.default
        if default is PydanticUndefined and info.default_factory is not None:
            default = info.default_factory()
        if isinstance(default, BaseModel):
            rows.extend(_reference_rows(type(default), f"{prefix}{name}."))
            continue
        key = f"{prefix}{name}"
        env = "TIDYLLM_" + key.upper().replace(".", "__")
        shown = {"data_dir": "per user", "zones": "[]"}.get(key) or _yaml_value(default)
        rows.append(f"| `{key}` | `{env}` | `{shown}` | {info.description or ''} |")
    return rows


def settings_reference() -> str:
    """The configuration reference table (docs/configuration.md is generated from it)."""
    head = "| setting | environment | default | meaning |\n|---|---|---|---|"
    return head + "\n" + "\n".join(_reference_rows(Settings, ""))


BEGIN = "<!-- BEGIN generated settings reference -->\n"
END = "<!-- END generated settings reference -->"


def write_reference(doc: Path) -> None:
    """Replace the generated table between the BEGIN/END markers of ``doc``."""
    text = doc.read_text(encoding="utf-8")
    start = text.index(BEGIN) + len(BEGIN)
    end = text.index(END)
    doc.write_text(text[:start] + settings_reference() + "\n" + text[end:], encoding="utf-8")


if __name__ == "__main__":
    import sys

    if sys.argv[1:2] == ["--write"]:
        write_reference(Path(sys.argv[2] if len(sys.argv) > 2 else "docs/configuration.md"))
    else:
        print(settings_reference())
