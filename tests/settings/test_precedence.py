"""Each settings layer overrides the next, and `source_of` names the right layer."""

from pathlib import Path

import pytest

from tidyllm.settings import load_settings


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_when_nothing_is_set():
    loaded = load_settings(environ={})
    assert loaded.settings.database.url is None
    assert loaded.settings.object_store.kind == "local"
    assert loaded.settings.llm.provider == "extractive"
    assert loaded.source_of("database.pool_max") == "default"
    assert loaded.config_file is None


def test_file_overrides_defaults(tmp_path):
    cfg = write(tmp_path / "tidyllm.yaml", "database:\n  pool_max: 7\n")
    loaded = load_settings(environ={})  # found in the working directory
    assert loaded.settings.database.pool_max == 7
    assert loaded.source_of("database.pool_max") == f"file {cfg}"
    assert loaded.source_of("database.pool_min") == "default"


def test_tidyllm_config_env_points_at_the_file(tmp_path):
    cfg = write(tmp_path / "elsewhere.yaml", "mlflow:\n  experiment: from-file\n")
    loaded = load_settings(environ={"TIDYLLM_CONFIG": str(cfg)})
    assert loaded.settings.mlflow.experiment == "from-file"
    assert loaded.config_file == cfg


def test_environment_overrides_file(tmp_path):
    write(tmp_path / "tidyllm.yaml", "database:\n  pool_max: 7\n")
    loaded = load_settings(environ={"TIDYLLM_DATABASE__POOL_MAX": "9"})
    assert loaded.settings.database.pool_max == 9
    assert loaded.source_of("database.pool_max") == "env TIDYLLM_DATABASE__POOL_MAX"


def test_arguments_override_environment(tmp_path):
    write(tmp_path / "tidyllm.yaml", "database:\n  pool_max: 7\n")
    loaded = load_settings(
        {"database": {"pool_max": 11}}, environ={"TIDYLLM_DATABASE__POOL_MAX": "9"}
    )
    assert loaded.settings.database.pool_max == 11
    assert loaded.source_of("database.pool_max") == "argument"


@pytest.mark.parametrize(
    ("name", "path", "value"),
    [
        ("DATABASE_URL", "database.url", "postgresql://u@db.example/x"),
        ("MLFLOW_TRACKING_URI", "mlflow.tracking_uri", "http://mlflow.example:5000"),
        ("AWS_REGION", "object_store.region", "eu-west-1"),
        ("AWS_ENDPOINT_URL_S3", "object_store.endpoint_url", "http://s3.example"),
        ("AWS_PROFILE", "object_store.profile", "prod"),
    ],
)
def test_standard_environment_names(name, path, value):
    loaded = load_settings(environ={name: value})
    section, key = path.split(".")
    assert getattr(getattr(loaded.settings, section), key) == value
    assert loaded.source_of(path) == f"env {name}"


def test_tidyllm_name_beats_standard_name_in_the_same_layer():
    loaded = load_settings(
        environ={
            "DATABASE_URL": "postgresql://a@h/x",
            "TIDYLLM_DATABASE__URL": "postgresql://b@h/y",
        }
    )
    assert loaded.settings.database.url == "postgresql://b@h/y"
    assert loaded.source_of("database.url") == "env TIDYLLM_DATABASE__URL"


def test_aws_region_beats_aws_default_region():
    loaded = load_settings(environ={"AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "eu-west-3"})
    assert loaded.settings.object_store.region == "eu-west-3"


def test_zones_from_file(tmp_path):
    write(
        tmp_path / "tidyllm.yaml",
        "zones:\n  - name: contracts\n    source: s3://b/p/\n    domain: legal\n",
    )
    zone = load_settings(environ={}).settings.zones[0]
    assert (zone.name, zone.source, zone.domain, zone.pipeline) == (
        "contracts",
        "s3://b/p/",
        "legal",
        "extract",
    )
