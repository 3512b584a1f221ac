"""Issue 9 item 8, the knowledge parts: a typo'd domain gets "did you mean"; ``ask`` on an
empty domain says so with a command that works; a new domain's ``ingest-<domain>`` zone is
known to ``tidyllm drop`` right after ``domains create``. Every hint is run as printed."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from tidyllm.errors import DomainNotFound
from tidyllm.knowledge import create_domain, search, show_domain
from tidyllm.knowledge.ingest import ingest


def _one_line(text: str) -> str:
    return " ".join(text.split())


def test_a_typo_in_a_domain_name_gets_did_you_mean(sm, tmp_path: Path) -> None:
    from tidyllm.answering import ask
    from tidyllm.knowledge import delete_domain

    create_domain(sm, "sigtest")
    create_domain(sm, "finance")
    for call in (
        lambda: show_domain(sm, "sigtset"),
        lambda: search(sm, "sigtset", "anything"),
        lambda: ask(sm, "sigtset", "anything?", trace=False),
        lambda: ingest(sm, "sigtset", [str(tmp_path)], track=False),
        lambda: delete_domain(sm, "sigtset"),
    ):
        with pytest.raises(DomainNotFound, match="does not exist; did you mean 'sigtest'\\?"):
            call()
    with pytest.raises(DomainNotFound) as info:
        show_domain(sm, "zzzz")  # nothing close: says where the names are
    assert "`tidyllm domains list`" in str(info.value)


def test_did_you_mean_and_the_hints_work_in_the_cli(cli, cli_env, tmp_path: Path) -> None:
    assert cli("domains", "create", "sigtest").exit_code == 0
    typo = cli("search", "sigtset", "liquidity")
    assert typo.exit_code == 1
    assert "did you mean 'sigtest'?" in _one_line(typo.output), typo.output
    nothing = cli("domains", "show", "zzzz")
    assert nothing.exit_code == 1
    hint = re.search(r"`(tidyllm [^`]+)`", _one_line(nothing.output))
    assert hint and hint[1] == "tidyllm domains list"
    listed = cli(*shlex.split(hint[1])[1:])  # the hint, run as printed
    assert listed.exit_code == 0 and "sigtest" in listed.output


def test_ask_on_an_empty_domain_says_so_and_how_to_fill_it(cli, cli_env, tmp_path: Path) -> None:
    assert cli("domains", "create", "empty").exit_code == 0
    result = cli("ask", "empty", "What is model risk?")
    assert result.exit_code == 1
    message = _one_line(result.output)
    assert "has no documents yet" in message and "Not found" not in message, message
    hint = re.search(r"`(tidyllm ingest empty PATH)`", message)
    assert hint, message
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "risk.txt").write_text("Model risk is the risk of loss from model errors.\n")
    command = shlex.split(hint[1].replace("PATH", str(folder)))
    ingested = cli(*command[1:], "--no-track")  # the hint, with a real PATH
    assert ingested.exit_code == 0 and "1 done" in ingested.output, ingested.output
    answered = cli("ask", "empty", "What is model risk?")
    assert answered.exit_code == 0 and "risk.txt" in answered.output, answered.output


def test_ask_on_an_empty_domain_raises_domain_empty(sm) -> None:
    from tidyllm.answering import ask
    from tidyllm.errors import DomainEmpty

    create_domain(sm, "empty")
    with pytest.raises(DomainEmpty, match="has no documents yet"):
        ask(sm, "empty", "anything?", trace=False)


def test_a_new_domains_ingest_zone_is_known_to_drop_at_once(
    cli, cli_env, tmp_path: Path, data_dir: Path
) -> None:
    assert cli("domains", "create", "mydocs").exit_code == 0
    note = tmp_path / "note.txt"
    note.write_text("Operational risk includes model risk.\n")
    dropped = cli("drop", str(note), "--zone", "ingest-mydocs")
    assert dropped.exit_code == 0, dropped.output
    worked = cli("worker", "--zone", "ingest-mydocs", "--once", "--no-track")
    assert worked.exit_code == 0, worked.output
    assert "documents    1" in cli("domains", "show", "mydocs").output
    unknown = cli("drop", str(note), "--zone", "ingest-nodomain")
    assert unknown.exit_code == 1 and "unknown zone" in unknown.output
