"""Bad settings give one clear error naming the key and where it came from."""

import pytest

from tidyllm.errors import SettingsError
from tidyllm.settings import load_settings


def error_of(tmp_path, text: str, environ=None) -> str:
    (tmp_path / "tidyllm.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(SettingsError) as info:
        load_settings(environ=environ or {})
    return str(info.value)


def test_unknown_key_in_file_names_the_key(tmp_path):
    msg = error_of(tmp_path, "database:\n  urll: postgresql://h/x\n")
    assert "database.urll" in msg and "unknown setting" in msg and "tidyllm.yaml" in msg


def test_unknown_top_level_section(tmp_path):
    assert "databse" in error_of(tmp_path, "databse: {}\n")


def test_wrong_type_names_the_key(tmp_path):
    msg = error_of(tmp_path, "database:\n  pool_max: lots\n")
    assert "database.pool_max" in msg and "integer" in msg


def test_wrong_type_from_environment_names_the_variable():
    with pytest.raises(SettingsError, match="env TIDYLLM_WEB__PORT"):
        load_settings(environ={"TIDYLLM_WEB__PORT": "99999999"})


def test_unknown_environment_setting():
    with pytest.raises(SettingsError, match=r"object_store\.buckett.*unknown setting"):
        load_settings(environ={"TIDYLLM_OBJECT_STORE__BUCKETT": "x"})


def test_invalid_yaml_gives_the_line(tmp_path):
    assert "not valid YAML at line 3" in error_of(tmp_path, "database:\n  url: [unclosed\n")


def test_top_level_must_be_a_mapping(tmp_path):
    assert "mapping" in error_of(tmp_path, "- just\n- a list\n")


def test_missing_explicit_file(tmp_path):
    with pytest.raises(SettingsError, match="does not exist"):
        load_settings(config_file=tmp_path / "nope.yaml", environ={})


def test_unreadable_file(tmp_path):
    path = tmp_path / "dir.yaml"
    path.mkdir()  # a directory cannot be read as a file, even by root
    with pytest.raises(SettingsError, match="cannot read settings file"):
        load_settings(config_file=path, environ={})


def test_binary_file(tmp_path):
    path = tmp_path / "bin.yaml"
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(SettingsError):
        load_settings(config_file=path, environ={})


def test_huge_file_is_refused(tmp_path):
    path = tmp_path / "big.yaml"
    path.write_text("# " + "x" * 2_000_000, encoding="utf-8")
    with pytest.raises(SettingsError, match="larger than"):
        load_settings(config_file=path, environ={})


def test_literal_secret_in_file_is_refused_and_not_echoed(tmp_path):
    msg = error_of(tmp_path, "database:\n  password: hunter2-canary\n")
    assert "credentials set" in msg and "hunter2-canary" not in msg


def test_secret_reference_in_file_is_accepted(tmp_path):
    (tmp_path / "tidyllm.yaml").write_text("database:\n  password: secret:db_pw\n")
    loaded = load_settings(environ={})
    assert loaded.settings.database.password.get_secret_value() == "secret:db_pw"


def test_duplicate_zone_names(tmp_path):
    msg = error_of(tmp_path, "zones:\n  - {name: a, source: /x}\n  - {name: a, source: /y}\n")
    assert "repeated: a" in msg


@pytest.mark.parametrize("name", ["../evil", "UPPER", "", "a" * 80, "sp ace"])
def test_hostile_zone_names(tmp_path, name):
    msg = error_of(tmp_path, f"zones:\n  - name: {name!r}\n    source: /x\n")
    assert "zones.0.name" in msg


def test_empty_file_means_defaults(tmp_path):
    (tmp_path / "tidyllm.yaml").write_text("")
    assert load_settings(environ={}).settings.database.pool_max == 10


def test_environment_name_with_empty_segment():
    with pytest.raises(SettingsError, match="not a valid setting name"):
        load_settings(environ={"TIDYLLM_DATABASE____URL": "x"})


@pytest.mark.parametrize(
    ("text", "key", "suggestion"),
    [
        ("databse:\n", "databse", "database"),
        ("databse:\n  url: postgresql://h/x\n", "databse", "database"),
        ("log_levle: INFO\n", "log_levle", "log_level"),
        ("database:\n  ulr: postgresql://h/x\n", "database.ulr", "url"),
        ("zones:\n  - name: a\n    source: /tmp/a\n    pipelin: index\n", "zones.0.pipelin",
         "pipeline"),
    ],
)  # fmt: skip
def test_misspelled_key_names_the_closest_known_key(tmp_path, text, key, suggestion):
    msg = error_of(tmp_path, text)
    assert f"invalid setting {key} from file" in msg  # the file, not "default"
    assert f"did you mean {suggestion!r}?" in msg


def test_unknown_key_with_nothing_close_suggests_nothing(tmp_path):
    msg = error_of(tmp_path, "zzzzz: 1\n")
    assert "unknown setting" in msg and "did you mean" not in msg
