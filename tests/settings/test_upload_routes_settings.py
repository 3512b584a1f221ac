"""upload.routes and upload.default_domain: valid rules load; hostile ones are one clear
settings error naming the key."""

from __future__ import annotations

import pytest

from tidyllm.errors import SettingsError
from tidyllm.settings import load_settings

GOOD = """\
upload:
  default_domain: inbox
  routes:
    - name: pdfs
      match: {type: application/pdf}
      domain: reports
    - name: notes
      match: {type: "text/*", name: "*.md", max_bytes: 100000}
      domain: notes
"""


def error_of(tmp_path, text: str) -> str:
    (tmp_path / "tidyllm.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(SettingsError) as info:
        load_settings(config_file=tmp_path / "tidyllm.yaml", environ={})
    return str(info.value)


def one_rule(match: str, name: str = "r1", domain: str = "docs") -> str:
    return f"upload:\n  routes:\n    - name: {name}\n      match: {match}\n      domain: {domain}\n"


def test_good_rules_load_in_order(tmp_path):
    (tmp_path / "tidyllm.yaml").write_text(GOOD, encoding="utf-8")
    loaded = load_settings(config_file=tmp_path / "tidyllm.yaml", environ={})
    upload = loaded.settings.upload
    assert [r.name for r in upload.routes] == ["pdfs", "notes"]
    assert upload.routes[1].match.name == "*.md" and upload.routes[1].match.max_bytes == 100000
    assert upload.default_domain == "inbox"
    assert loaded.source_of("upload.routes").startswith("file ")


def test_no_rules_by_default():
    upload = load_settings(environ={}).settings.upload
    assert upload.routes == [] and upload.default_domain is None


@pytest.mark.parametrize(
    ("match", "key", "words"),
    [
        ("{}", "upload.routes.0.match", "at least one of type, name"),
        ("{typ: application/pdf}", "upload.routes.0.match.typ", "did you mean 'type'"),
        ("{type: pdf}", "upload.routes.0.match.type", "pattern"),
        ("{type: 'text/*; charset=x'}", "upload.routes.0.match.type", "pattern"),
        ("{type: '*/*'}", "upload.routes.0.match.type", "pattern"),
        ("{name: ''}", "upload.routes.0.match.name", "at least 1"),
        ("{name: 'docs/*.md'}", "upload.routes.0.match.name", "base name"),
        ("{name: '..\\\\*.md'}", "upload.routes.0.match.name", "base name"),
        ('{name: "a\\tb"}', "upload.routes.0.match.name", "control"),
        ("{name: '*.[pd'}", "upload.routes.0.match.name", "never closed"),
        ("{name: 'x' }", None, None),  # (valid: a plain name is a glob too)
        ("{min_bytes: -1}", "upload.routes.0.match.min_bytes", "greater than or equal"),
        ("{max_bytes: lots}", "upload.routes.0.match.max_bytes", "integer"),
        ("{max_bytes: 1.5}", "upload.routes.0.match.max_bytes", "integer"),
        ("{min_bytes: 10, max_bytes: 9}", "upload.routes.0.match", "larger than max_bytes"),
        ("[application/pdf]", "upload.routes.0.match", "valid dictionary"),
    ],
)
def test_a_bad_match_names_the_key(tmp_path, match, key, words):
    if key is None:
        (tmp_path / "tidyllm.yaml").write_text(one_rule(match), encoding="utf-8")
        load_settings(config_file=tmp_path / "tidyllm.yaml", environ={})
        return
    msg = error_of(tmp_path, one_rule(match))
    assert f"invalid setting {key} from file" in msg and words in msg, msg


def test_bad_rules_name_the_key(tmp_path):
    assert "upload.routes.0.domain" in error_of(tmp_path, one_rule("{name: x}", domain="Bad Name"))
    assert "upload.routes.0.name" in error_of(tmp_path, one_rule("{name: x}", name="'<b>'"))
    assert "upload.routes.0.match" in error_of(
        tmp_path, "upload:\n  routes:\n    - name: r\n      domain: d\n"
    )
    msg = error_of(tmp_path, one_rule("{name: x}") + "      zone: ingest-x\n")
    assert "upload.routes.0.zone" in msg and "unknown setting" in msg
    twice = one_rule("{name: x}") + "    - name: r1\n      match: {name: y}\n      domain: d\n"
    assert "repeated: r1" in error_of(tmp_path, twice)
    assert "upload.routes" in error_of(tmp_path, "upload:\n  routes: pdfs-to-reports\n")
    msg = error_of(tmp_path, "upload:\n  default_domain: '../etc'\n")
    assert "upload.default_domain" in msg
    assert "upload.rules" in error_of(tmp_path, "upload:\n  rules: []\n")


def test_a_huge_glob_is_refused(tmp_path):
    msg = error_of(tmp_path, one_rule("{name: '" + "*" * 300 + "'}"))
    assert "upload.routes.0.match.name" in msg and "255" in msg
