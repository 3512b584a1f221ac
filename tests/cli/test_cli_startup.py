"""CLI start-up: commands load lazily, help imports none of the heavy libraries."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import typer

from tidyllm.cli.main import COMMANDS, app

# Libraries that take 0.1-2 s to import and that only the work itself needs.
HEAVY = (
    "mlflow",
    "sqlalchemy",
    "alembic",
    "libcst",
    "onnx",
    "onnxruntime",
    "numpy",
    "boto3",
    "botocore",
    "psycopg",
    "psycopg_pool",
    "tokenizers",
    "pydantic_settings",
    "cryptography",
    "tidyllm.session",
    "tidyllm.settings",
    "tidyllm.knowledge",
    "tidyllm.dropzones",
)

_PROBE = """
import json, sys
from tidyllm.cli.main import app
try:
    app(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
print(json.dumps({"code": code, "modules": sorted(sys.modules)}), file=sys.stderr)
"""


def _imported_by(*args: str) -> tuple[int, set[str]]:
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE, *args], capture_output=True, text=True, timeout=120
    )
    report = json.loads(proc.stderr.strip().splitlines()[-1])
    return report["code"], set(report["modules"])


def _heavy(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if m.split(".")[0] in HEAVY or m in HEAVY)


@pytest.mark.parametrize(
    "args", [("--help",), ("search", "--help"), ("ask", "--help"), ("users", "add", "--help")]
)
def test_help_imports_no_heavy_library(args):
    code, modules = _imported_by(*args)
    assert code == 0
    assert _heavy(modules) == []
    assert "tidyllm.cli.zones_cmd" not in modules  # only the command asked for is loaded


def test_top_level_help_imports_no_command_module():
    _, modules = _imported_by("--help")
    assert not [m for m in modules if m.endswith("_cmd") or m.startswith("tidyllm.archcheck")]
    assert "pydantic" not in modules


def test_every_command_is_listed_with_its_own_help():
    """The help table in cli/main.py says what each command's docstring says."""
    group = typer.main.get_command(app)
    ctx = typer.Context(group)
    for name, spec in COMMANDS.items():
        command = spec.load(name)
        assert command.name == name
        assert (command.help or "").strip().splitlines()[0] == spec.help, name
    assert group.list_commands(ctx) == list(COMMANDS)


def test_help_lists_every_command(cli):
    result = cli("--help")
    assert result.exit_code == 0
    for name, spec in COMMANDS.items():
        assert name in result.output
        assert spec.help[:30] in " ".join(result.output.split())


def test_a_misspelt_command_gets_a_suggestion():
    from typer.testing import CliRunner

    result = CliRunner().invoke(app, ["serch", "x", "y"])
    assert result.exit_code == 2
    assert "Did you mean 'search'" in result.output


def test_subcommands_of_lazy_groups_run(cli):
    result = cli("config", "show", "--json")
    assert result.exit_code == 0
    assert "data_dir" in result.output


WORK_ONLY = ("mlflow", "sqlalchemy", "alembic", "libcst", "onnx", "boto3", "botocore")


def test_warm_commands_import_only_what_they_use(data_dir, database_url, tmp_path):
    """Once a data directory is set up, doctor/search/ask import no MLflow, onnx or boto3."""
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith(("TIDYLLM_", "DATABASE_URL"))}
    env.update(TIDYLLM_DATA_DIR=str(data_dir), DATABASE_URL=database_url)

    def imported(*args: str) -> set[str]:
        proc = subprocess.run(
            [sys.executable, "-c", _PROBE, *args],
            capture_output=True,
            text=True,
            timeout=300,
            env=env,
            cwd=tmp_path,
        )
        *output, last = proc.stderr.strip().splitlines()
        report = json.loads(last)
        assert report["code"] in (0, None), (args, proc.stdout[-2000:], output[-20:])
        return set(report["modules"])

    imported("domains", "create", "warm")
    doc = tmp_path / "capital.txt"
    doc.write_text(
        "Banks hold capital against losses. Stress tests check that capital is enough "
        "under severely adverse scenarios, and model validation checks the models used.\n"
    )
    imported("ingest", "warm", str(doc), "--no-track")
    imported("doctor")  # the first run creates the MLflow store and the model cache
    for command in (("doctor",), ("search", "warm", "capital"), ("ask", "warm", "capital?")):
        modules = imported(*command)
        assert sorted(m for m in modules if m.split(".")[0] in WORK_ONLY) == [], command
