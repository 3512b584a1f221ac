"""The CLI surface: config show, init, credentials, db, and one-line errors for bad input."""

import subprocess
import sys

import yaml

from tidyllm.settings import load_settings


def test_config_show_names_each_source(cli, tmp_path, monkeypatch):
    (tmp_path / "tidyllm.yaml").write_text("database:\n  pool_max: 7\nweb:\n  port: 9000\n")
    monkeypatch.setenv("TIDYLLM_WEB__PORT", "9100")
    result = cli("config", "show", "--json")
    assert result.exit_code == 0, result.output
    rows = {r["key"]: r for r in __import__("json").loads(result.stdout)}
    assert rows["database.pool_max"]["value"] == "7"
    assert rows["database.pool_max"]["source"].startswith("file ")
    assert (rows["web.port"]["value"], rows["web.port"]["source"]) == (
        "9100",
        "env TIDYLLM_WEB__PORT",
    )
    assert rows["database.pool_min"]["source"] == "default"


def test_config_show_masks_literal_secrets_and_keeps_references(cli, monkeypatch):
    monkeypatch.setenv("TIDYLLM_LLM__API_KEY", "sk-literal-canary-123")
    monkeypatch.setenv("TIDYLLM_DATABASE__PASSWORD", "secret:db_pw")
    result = cli("config", "show")
    assert "sk-literal-canary-123" not in result.output
    assert "***" in result.output and "secret:db_pw" in result.output


def test_init_writes_a_valid_commented_file(cli, tmp_path):
    import re

    result = cli("init")
    assert result.exit_code == 0
    text = (tmp_path / "tidyllm.yaml").read_text()
    assert yaml.safe_load(text) is None  # everything commented out: valid, and all defaults
    # Uncommenting every setting line (before the zones example) gives the defaults back.
    settings_part = text.split("# Drop zones")[0]
    setting_line = re.compile(r"^# ( *)[a-z_]+:( |$)")
    lines = [line[2:] for line in settings_part.splitlines() if setting_line.match(line)]
    assert len(lines) > 40
    (tmp_path / "full.yaml").write_text("\n".join(lines))
    loaded = load_settings(config_file=tmp_path / "full.yaml", environ={})
    assert loaded.settings.database.pool_max == 10
    assert loaded.source_of("database.pool_max").startswith("file ")


def test_init_refuses_to_overwrite(cli, tmp_path):
    (tmp_path / "tidyllm.yaml").write_text("keep: me\n")
    result = cli("init")
    assert result.exit_code == 1
    assert "already exists" in result.output
    assert (tmp_path / "tidyllm.yaml").read_text() == "keep: me\n"


def test_credentials_set_list_delete_check(cli, data_dir, monkeypatch):
    monkeypatch.setenv("TIDYLLM_DATA_DIR", str(data_dir))
    result = cli("credentials", "set", "api_key", "--stdin", input="s3cr3t-value-xyz\n")
    assert result.exit_code == 0 and "s3cr3t-value-xyz" not in result.output
    assert cli("credentials", "list").stdout.split() == ["api_key"]
    monkeypatch.setenv("TIDYLLM_LLM__API_KEY", "secret:api_key")
    checked = cli("credentials", "check")
    assert checked.exit_code == 0 and "1 secret(s) stored" in checked.stdout
    assert cli("credentials", "delete", "api_key").exit_code == 0
    missing = cli("credentials", "check")
    assert missing.exit_code == 1 and "llm.api_key -> secret:api_key" in missing.output


def test_credentials_value_never_from_argv(cli, data_dir, monkeypatch):
    monkeypatch.setenv("TIDYLLM_DATA_DIR", str(data_dir))
    result = cli("credentials", "set", "name", "the-value")
    assert result.exit_code == 2  # no such argument: values come from a prompt or stdin only


def test_credentials_wrong_master_key_is_one_line(cli, data_dir, monkeypatch):
    from cryptography.fernet import Fernet

    monkeypatch.setenv("TIDYLLM_DATA_DIR", str(data_dir))
    monkeypatch.setenv("TIDYLLM_MASTER_KEY", Fernet.generate_key().decode())
    cli("credentials", "set", "x", "--stdin", input="value-1\n")
    monkeypatch.setenv("TIDYLLM_MASTER_KEY", Fernet.generate_key().decode())
    result = cli("credentials", "list")
    assert result.exit_code == 1
    assert result.output.count("\n") == 1 and "wrong key" in result.output


def test_db_status_and_stop(cli, embedded_data_dir, monkeypatch):
    monkeypatch.setenv("TIDYLLM_DATA_DIR", str(embedded_data_dir))
    assert "stopped" in cli("db", "status").stdout
    assert cli("db", "migrate").exit_code == 0
    assert "running" in cli("db", "status").stdout
    assert "stopped" in cli("db", "stop").stdout
    assert "stopped" in cli("db", "status").stdout
    assert "not running" in cli("db", "stop").stdout


def test_user_errors_are_one_line_without_traceback(tmp_path, monkeypatch):
    import os

    base = {k: v for k, v in os.environ.items() if not k.startswith(("TIDYLLM_", "DATABASE_URL"))}
    base["TIDYLLM_DATA_DIR"] = str(tmp_path / "data")
    (tmp_path / "bad.yaml").write_text("database:\n  urll: x\n")
    (tmp_path / "typed.yaml").write_text("database:\n  pool_max: many\n")
    cases = {
        "unknown key": ({"TIDYLLM_CONFIG": str(tmp_path / "bad.yaml")}, "database.urll"),
        "wrong type": ({"TIDYLLM_CONFIG": str(tmp_path / "typed.yaml")}, "database.pool_max"),
        "unreadable file": ({"TIDYLLM_CONFIG": str(tmp_path)}, "cannot read settings file"),
        "missing secret": (
            {
                "TIDYLLM_DATABASE__PASSWORD": "secret:nope",
                "DATABASE_URL": "postgresql://u@/d?host=/nonexistent",
            },
            "secret 'nope' is not set",
        ),
        "malformed DATABASE_URL": ({"DATABASE_URL": "postgresql://u:pw@h:port/d"}, "malformed"),
        "wrong master key": ({"TIDYLLM_MASTER_KEY": "short"}, "not a valid key"),
    }
    for name, (extra, expected) in cases.items():
        command = ("credentials", "set", "x", "--stdin") if "master" in name else ("db", "migrate")
        proc = subprocess.run(
            [sys.executable, "-c", "from tidyllm.cli.main import run; run()", *command],
            capture_output=True,
            text=True,
            env={**base, **extra},
            cwd=tmp_path,
            timeout=120,
            input="value\n",
        )
        assert proc.returncode == 1, (name, proc.stderr)
        assert "Traceback" not in proc.stderr, name
        assert expected in proc.stderr, (name, proc.stderr)
        assert len(proc.stderr.strip().splitlines()) == 1, (name, proc.stderr)
