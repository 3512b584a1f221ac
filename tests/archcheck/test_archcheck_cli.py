"""The two commands through Typer's runner: exit codes, formats, baselines."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from tidyllm.archcheck.cli import check_command, migrate_command

app = typer.Typer()
app.command("check")(check_command)
app.command("migrate")(migrate_command)
runner = CliRunner()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.tidyllm.check]\nallow = { "*" = ["app.session"] }\nexclude = ["vendor/**"]\n'
    )
    app_dir = tmp_path / "app"
    app_dir.mkdir()
    (app_dir / "__init__.py").write_text("")
    (app_dir / "session.py").write_text("import boto3\nS3 = boto3.client('s3')\n")
    (app_dir / "job.py").write_text(
        "import boto3\nimport os\n\ns3 = boto3.client('s3')\npw = os.environ['POSTGRES_PASSWORD']\n"
    )
    vendor = tmp_path / "vendor"
    vendor.mkdir()
    (vendor / "lib.py").write_text("import boto3\nboto3.client('s3')\n")
    return tmp_path


def _run(args: list[str], cwd: Path):
    import os

    old = Path.cwd()
    os.chdir(cwd)
    try:
        return runner.invoke(app, args)
    finally:
        os.chdir(old)


def test_check_text_reports_and_exits_1(project: Path) -> None:
    result = _run(["check", "app", "vendor"], project)
    assert result.exit_code == 1
    assert "app/job.py:4:6: TL101" in result.output
    assert "app/job.py:5:6: TL501" in result.output
    assert "session.py" not in result.output  # allowed module
    assert "vendor" not in result.output  # excluded
    assert "2 findings" in result.output


def test_check_clean_exits_0(project: Path) -> None:
    (project / "app" / "job.py").write_text("x = 1\n")
    result = _run(["check"], project)
    assert result.exit_code == 0, result.output
    assert "0 findings" in result.output


def test_check_json_and_sarif(project: Path) -> None:
    result = _run(["check", "app", "--format", "json"], project)
    data = json.loads(result.output)
    assert result.exit_code == 1
    assert {f["rule"] for f in data["findings"]} == {"TL101", "TL501"}
    assert all(f["replacement"] for f in data["findings"])
    sarif_file = project / "out.sarif"
    result = _run(["check", "app", "-f", "sarif", "-o", str(sarif_file)], project)
    assert result.exit_code == 1
    sarif = json.loads(sarif_file.read_text())
    assert sarif["version"] == "2.1.0"
    results = sarif["runs"][0]["results"]
    assert {r["ruleId"] for r in results} == {"TL101", "TL501"}
    rule_ids = [r["id"] for r in sarif["runs"][0]["tool"]["driver"]["rules"]]
    assert all(rule_ids[r["ruleIndex"]] == r["ruleId"] for r in results)


@pytest.mark.parametrize(
    "args",
    [
        ["check", "does-not-exist"],
        ["check", "--format", "xml"],
        ["check", "--config", "missing.toml"],
        ["check", "--jobs", "-1"],
        ["migrate", "app"],
        ["migrate", "app", "--diff", "--write"],
        ["check", "app", "--write-baseline"],
        ["check", "app", "--baseline", "nope.json"],
    ],
)
def test_usage_errors_exit_2(project: Path, args: list[str]) -> None:
    result = _run(args, project)
    assert result.exit_code == 2, result.output


def test_bad_config_is_a_usage_error(project: Path) -> None:
    (project / "pyproject.toml").write_text('[tool.tidyllm.check]\nallow = { TL999 = ["x"] }\n')
    result = _run(["check", "app"], project)
    assert result.exit_code == 2
    assert "TL999" in result.output


def test_baseline_adopt_then_ratchet(project: Path) -> None:
    baseline = project / "baseline.json"
    result = _run(["check", "app", "--baseline", str(baseline), "--write-baseline"], project)
    assert result.exit_code == 0 and "wrote 2 findings" in result.output
    # Adopted: the same findings no longer fail the build, even after lines move.
    job = project / "app" / "job.py"
    job.write_text("# a new first line\n" + job.read_text())
    assert _run(["check", "app", "--baseline", str(baseline)], project).exit_code == 0
    # A new violation still fails.
    job.write_text(job.read_text() + "s3b = boto3.resource('s3')\n")
    result = _run(["check", "app", "--baseline", str(baseline)], project)
    assert result.exit_code == 1 and "TL101" in result.output and result.output.count("TL") == 1
    # Fix one baselined finding and ratchet: the baseline shrinks, never grows.
    job.write_text("import boto3\nimport os\n\ns3 = boto3.client('s3')\n")
    result = _run(["check", "app", "--baseline", str(baseline), "--ratchet"], project)
    assert result.exit_code == 0
    assert len(json.loads(baseline.read_text())["findings"]) == 1


def test_migrate_diff_then_write(project: Path) -> None:
    result = _run(["migrate", "app", "--diff"], project)
    assert result.exit_code == 1
    assert "+s3 = UnifiedSessionManager().get_s3_client()" in result.output
    result = _run(["migrate", "app", "--write"], project)
    assert result.exit_code == 0
    assert "get_s3_client" in (project / "app" / "job.py").read_text()
    assert "boto3.client" in (project / "app" / "session.py").read_text()  # allowed: untouched
    result = _run(["migrate", "app", "--diff"], project)
    assert result.exit_code == 0  # idempotent: nothing left to change


def test_secret_values_never_reach_output(project: Path) -> None:
    (project / "app" / "creds.py").write_text(
        'KEY = "AKIAIOSFODNN7EXAMPLE"\nDSN = "postgresql://u:Canary-Pw-77@db/x"\n'
        'def f(c):\n    return c(password="Canary-Pw-78")\n'
    )
    for fmt in ("text", "json", "sarif"):
        result = _run(["check", "app", "-f", fmt], project)
        assert result.exit_code == 1
        assert "TL502" in result.output
        for canary in ("AKIAIOSFODNN7EXAMPLE", "Canary-Pw-77", "Canary-Pw-78"):
            assert canary not in result.output
    baseline = project / "b.json"
    _run(["check", "app", "--baseline", str(baseline), "--write-baseline"], project)
    assert "Canary" not in baseline.read_text()
