"""Small things a user meets in the first hour: help, init, credentials, doctor, log level."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys

import pytest


@pytest.mark.parametrize(
    "command",
    [[], ["ingest"], ["worker"], ["doctor"], ["zones", "retry"], ["config", "show"], ["init"]],
)
def test_help_shows_no_python_type_placeholders(cli, command):
    result = cli(*command, "--help")
    assert result.exit_code == 0, result.output
    assert "--help" in result.output
    assert "<bool>" not in result.output, result.output
    assert "list[" not in result.output, result.output


def test_help_keeps_placeholders_on_options_that_take_a_value(cli):
    out = cli("worker", "--help").output
    assert re.search(r"--zone\s+-z\s+<str>", out), out
    assert re.search(r"--once\s+Drain", out), out  # a flag: straight to its help


def test_init_creates_missing_parent_folders(cli, tmp_path):
    result = cli("init", "sub/dir/x.yaml")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "sub" / "dir" / "x.yaml").read_text().strip()


def test_init_where_a_folder_cannot_be_made_is_one_clear_line(cli, tmp_path):
    (tmp_path / "sub").write_text("a file, not a folder")
    result = cli("init", "sub/dir/x.yaml")
    assert result.exit_code == 1
    assert "cannot write sub/dir/x.yaml" in result.output
    assert "Traceback" not in result.output and result.output.count("\n") == 1


def test_credentials_list_on_an_empty_store_says_so_and_its_hint_works(cli, data_dir, monkeypatch):
    monkeypatch.setenv("TIDYLLM_DATA_DIR", str(data_dir))
    empty = cli("credentials", "list")
    assert empty.exit_code == 0
    assert empty.stdout == ""  # stdout stays one name per line for scripts
    hint = re.search(r"`(tidyllm credentials set NAME)`", empty.stderr)
    assert "no secrets stored" in empty.stderr and hint, empty.stderr
    argv = hint.group(1).replace("NAME", "api_key").split()[1:]
    assert cli(*argv, "--stdin", input="value-1\n").exit_code == 0
    assert cli("credentials", "list").stdout.split() == ["api_key"]


@pytest.mark.parametrize(
    ("verbose", "env", "file", "level"),
    [
        (False, {}, None, logging.WARNING),
        (False, {"TIDYLLM_LOG_LEVEL": "INFO"}, None, logging.INFO),
        (False, {"TIDYLLM_LOG_LEVEL": "error"}, None, logging.ERROR),
        (False, {}, "log_level: DEBUG\n", logging.DEBUG),
        (False, {"TIDYLLM_LOG_LEVEL": "ERROR"}, "log_level: DEBUG\n", logging.ERROR),
        (True, {"TIDYLLM_LOG_LEVEL": "ERROR"}, None, logging.DEBUG),  # -v wins
        (False, {"TIDYLLM_LOG_LEVEL": "LOUD"}, None, logging.WARNING),
    ],
)
def test_log_level_precedence(tmp_path, verbose, env, file, level):
    from tidyllm.cli.logconfig import log_level

    if file is not None:
        (tmp_path / "tidyllm.yaml").write_text(file)
    assert log_level(verbose, env) == level


def _root_level_in_cli(env: dict[str, str], *args: str) -> str:
    code = (
        "import logging, sys\n"
        "from tidyllm.cli.main import app\n"
        "try:\n"
        "    app(sys.argv[1:])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('ROOT', logging.getLevelName(logging.getLogger().level))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, *args], env=env, capture_output=True, text=True, timeout=120
    )
    match = re.search(r"ROOT (\w+)", done.stdout)
    assert match, done.stdout + done.stderr
    return match.group(1)


def test_tidyllm_log_level_reaches_the_cli_and_v_still_wins(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIDYLLM_")}
    env["TIDYLLM_DATA_DIR"] = str(tmp_path / "data")
    assert _root_level_in_cli(env, "credentials", "list") == "WARNING"
    env["TIDYLLM_LOG_LEVEL"] = "INFO"
    assert _root_level_in_cli(env, "credentials", "list") == "INFO"
    assert _root_level_in_cli(env, "-v", "credentials", "list") == "DEBUG"


def test_doctor_never_cuts_a_path_at_80_columns(embedded_data_dir):
    from tidyllm.db import stop_embedded

    data = embedded_data_dir / "a-folder-name-long-enough-to-pass-eighty-columns" / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TIDYLLM_", "COLUMNS"))}
    env.update(TIDYLLM_DATA_DIR=str(data), COLUMNS="80")
    try:
        done = subprocess.run(
            [sys.executable, "-c", "from tidyllm.cli.main import run; run()", "doctor"],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
    finally:
        stop_embedded(data)
    assert done.returncode == 0, done.stdout + done.stderr
    assert len(str(data / "objects")) > 80
    assert str(data / "objects") in done.stdout  # whole, on one line
    assert "…" not in done.stdout
