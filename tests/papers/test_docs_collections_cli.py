"""`tidyllm docs ...` and `tidyllm collections ...`: every command, its --json, its errors
with hints that work when run as printed, hostile arguments; and the metadata filter
options of search and ask."""

from __future__ import annotations

import json
import re
import shlex

import pytest
from catalog_helpers import add_documents, describe


def run_hints(cli, output: str) -> list[str]:
    """Run every `tidyllm ...` command quoted in ``output``; each must succeed."""
    commands = re.findall(r"`(tidyllm [^`]+)`", output)
    for command in commands:
        result = cli(*shlex.split(command)[1:])
        assert result.exit_code == 0, (command, result.output)
    return commands


@pytest.fixture
def library(cli, cli_env, sm):
    ids = add_documents(sm, "papers", 3)
    add_documents(sm, "other", 1)
    describe(
        sm,
        {
            ids[0]: {"title": "Attention", "year": 2017, "authors": ["Ashish Vaswani"]},
            ids[1]: {"title": "BERT", "year": 2019, "tags": ["nlp"], "doi": "10.1/bert"},
        },
    )
    return ids


def ok(cli, *args: str):
    result = cli(*args)
    assert result.exit_code == 0, (args, result.output)
    return result.stdout


def fails(cli, *args: str, code: int = 1) -> str:
    result = cli(*args)
    assert result.exit_code == code, (args, result.output)
    return result.output


def test_docs_and_collections_journey(cli, library) -> None:
    a, b, c = library
    listed = ok(cli, "docs", "list", "papers")
    assert "Attention" in listed and "BERT" in listed and "Ashish Vaswani" in listed
    data = json.loads(ok(cli, "docs", "list", "papers", "--year", "2018..2020", "--json"))
    assert [d["title"] for d in data["documents"]] == ["BERT"]
    assert data["filter"] == {"year_from": 2018, "year_to": 2020} and data["next_cursor"] is None
    first = json.loads(ok(cli, "docs", "list", "papers", "--limit", "2", "--json"))
    rest = json.loads(
        ok(
            cli,
            "docs",
            "list",
            "papers",
            "--limit",
            "2",
            "--cursor",
            first["next_cursor"],
            "--json",
        )
    )
    assert [d["id"] for d in first["documents"] + rest["documents"]] == [c, b, a]
    text = ok(cli, "docs", "list", "papers", "--limit", "2")
    assert f"--cursor {first['next_cursor']}" in text
    assert "no documents match" in ok(cli, "docs", "list", "papers", "--tag", "none")

    bare = ok(cli, "docs", "show", str(c))  # no metadata yet: the indexed title, no layer
    assert re.search(r"title: doc \d+\n", bare) and "(" not in bare
    shown = ok(cli, "docs", "show", str(b))
    assert re.search(r"title: BERT\s+\(sidecar\)", shown)
    assert "(sidecar)" in shown and "doi: 10.1/bert" in shown
    out = ok(
        cli, "docs", "set", str(b), "year=2018", "authors=J. Devlin; M. Chang", "fields.venue=NAACL"
    )
    assert re.search(r"year: 2018\s+\(edited\)", out) and "fields.venue: NAACL" in out
    assert "J. Devlin; M. Chang" in out
    shown = json.loads(ok(cli, "docs", "show", str(b), "--json"))
    assert shown["provenance"]["year"] == "edited" and shown["layers"]["edited"]["year"] == 2018
    assert "nlp, encoder" in ok(cli, "docs", "tag", str(b), "encoder", "nlp")
    assert json.loads(ok(cli, "docs", "untag", str(b), "nlp", "--json"))["tags"] == ["encoder"]
    assert [
        d["id"]
        for d in json.loads(
            ok(cli, "docs", "list", "papers", "--author", "chang", "--tag", "encoder", "--json")
        )["documents"]
    ] == [b]

    assert "created collection to read in domain papers" in ok(
        cli, "collections", "create", "to read", "--domain", "papers", "--description", "later"
    )
    ok(cli, "collections", "create", "to read", "--domain", "other")
    assert "added 2 document(s) to to read; it holds 2" in ok(
        cli, "collections", "add", "to read", str(a), str(b), "--domain", "papers"
    )
    added = json.loads(
        ok(cli, "collections", "add", "to read", str(b), str(c), "-d", "papers", "--json")
    )
    assert (added["added"], added["already"], added["documents"]) == ([c], [b], 3)
    listed = ok(cli, "collections", "list")
    assert "other" in listed and "papers" in listed and "later" in listed
    assert [x["domain"] for x in json.loads(ok(cli, "collections", "list", "--json"))] == [
        "other",
        "papers",
    ]
    shown = ok(cli, "collections", "show", "to read", "--domain", "papers", "--limit", "1")
    assert "3 documents" in shown and "Attention" not in shown
    more = re.search(r"tidyllm (docs list .+)$", shown, re.M)
    assert more is not None  # the printed continuation runs as printed
    assert "BERT" in ok(cli, *shlex.split(more.group(1)))
    assert "to read" in ok(cli, "docs", "show", str(a))
    assert "removed 1 document(s) from to read, 1 were not in it; it holds 2" in ok(
        cli, "collections", "remove", "to read", str(a), "999999", "--domain", "papers"
    )
    json.loads(ok(cli, "collections", "remove", "to read", str(c), "-d", "papers", "--json"))
    assert "deleted collection to read from domain other (0 documents" in ok(
        cli, "collections", "delete", "to read", "--domain", "other"
    )
    # with one left, no --domain is needed
    assert json.loads(ok(cli, "collections", "show", "to read", "--json"))["documents"] == 1
    assert "deleted collection" in ok(cli, "collections", "delete", "to read")
    assert "no collections yet" in ok(cli, "collections", "list")


def test_errors_say_what_to_do_and_their_hints_run(cli, library) -> None:
    a = library[0]
    ok(cli, "collections", "create", "dup", "--domain", "papers")
    ok(cli, "collections", "create", "dup", "--domain", "other")
    out = fails(cli, "collections", "show", "dup")
    assert "exists in 2 domains (other, papers)" in out
    assert "add --domain other or --domain papers to the command" in out
    for option in ("other", "papers"):  # the hint's options work
        ok(cli, "collections", "show", "dup", "--domain", option)
    out = fails(cli, "collections", "create", "dup", "--domain", "papers")
    assert "already exists" in out and run_hints(cli, out)
    out = fails(cli, "collections", "show", "nope", "--domain", "papers")
    assert "no collection 'nope' in domain 'papers'; its collections: dup" in out
    ok(cli, "collections", "delete", "dup", "--domain", "papers")
    out = fails(cli, "collections", "add", "dup", str(a), "--domain", "papers")
    assert "create it:" in out and run_hints(cli, out)
    out = fails(cli, "collections", "show", "nope")
    assert run_hints(cli, out) == ["tidyllm collections list"]
    out = fails(cli, "collections", "add", "dup", str(a), "--domain", "other")
    assert "nothing was changed" in out and run_hints(cli, out) == ["tidyllm docs list other"]
    out = fails(cli, "docs", "show", "424242")
    assert "no document 424242" in out and run_hints(cli, out) == ["tidyllm domains list"]
    out = fails(cli, "docs", "list", "paperz")
    assert "did you mean 'papers'" in out
    out = fails(cli, "docs", "list", "papers", "--year", "2024..2020")
    assert "runs backwards; did you mean 2020..2024?" in out
    ok(cli, "docs", "list", "papers", "--year", "2020..2024")
    out = fails(cli, "docs", "set", str(a), "colour=red")
    assert "unknown field 'colour'" in out and "fields.NAME=value" in out
    assert "is not key=value" in fails(cli, "docs", "set", str(a), "title")
    assert "four-digit year" in fails(cli, "docs", "set", str(a), "year=99999")
    assert "no collection 'nope' in domain 'papers'" in fails(
        cli, "docs", "list", "papers", "--collection", "nope"
    )


@pytest.mark.parametrize(
    "args",
    [
        ["docs", "list", "papers", "--year", "abc"],
        ["docs", "list", "papers", "--year", "99999"],
        ["docs", "list", "papers", "--year", "2024..2020"],
        ["docs", "list", "papers", "--author", "a\x00b"],
        ["docs", "list", "papers", "--tag", "t" * 10_000],
        ["docs", "list", "papers", "--cursor", "garbage"],
        ["docs", "list", "papers", "--limit", "0"],
        ["docs", "list", "Pa\x00pers"],
        ["docs", "show", "0"],
        ["docs", "show", "99999999999999999999999"],
        ["docs", "set", "1", "fields.=x"],
        ["docs", "set", "1", "fields.a b=x"],
        ["docs", "tag", "1", "\x00\x01"],
        ["collections", "create", "x" * 500, "--domain", "papers"],
        ["collections", "create", "a/b", "--domain", "papers"],
        ["collections", "create", "ok", "--domain", "papers", "--description", "d" * 5000],
        ["collections", "add", "ok", "9223372036854775808", "--domain", "papers"],
        ["collections", "show", "x\x00y"],
        ["collections", "list", "--domain", "NOPE"],
    ],
)
def test_hostile_arguments_get_one_clear_line(cli, library, args) -> None:
    result = cli(*args)
    assert result.exit_code in (1, 2), result.output  # 2: a usage error from the parser
    assert "Traceback" not in result.output and "psycopg" not in result.output
    if result.exit_code == 1:
        assert result.output.startswith("error: ")


def test_huge_and_control_values_are_bounded(cli, library, sm) -> None:
    a = library[0]
    ok(cli, "docs", "set", str(a), "title=" + "T\x07" * 600_000, "notes=a\x00b")
    shown = json.loads(ok(cli, "docs", "show", str(a), "--json"))
    assert 990 <= len(shown["title"]) <= 1000 and shown["notes"] == "a b"


def test_search_and_ask_take_metadata_filters(cli, library, sm) -> None:
    b = library[1]
    from tidyllm.knowledge.collections import add_to_collection, create_collection

    create_collection(sm, "one", domain="papers")
    add_to_collection(sm, "one", [b])
    out = ok(cli, "search", "papers", "apple", "--collection", "one", "--mode", "text")
    assert out.count("p.1") == 1 and "BERT" in out
    out = ok(cli, "search", "papers", "apple", "--year", "2017", "--author", "vaswani")
    assert out.count("p.1") == 1 and "Attention" in out
    assert "no results" in ok(cli, "search", "papers", "apple", "--tag", "nlp", "--year", "2017")
    ok(cli, "ask", "papers", "apple river?", "--id", "doi:10.1/BERT")
    assert "no collection 'x'" in fails(cli, "ask", "papers", "q?", "--collection", "x")
    assert "not understood" in fails(cli, "search", "papers", "q", "--year", "20x0")


def _index(sm, domain: str, name: str, pages: list[str]) -> int:
    from tidyllm.extraction import ExtractedDocument, Page
    from tidyllm.knowledge.indexing import index_document

    return index_document(
        sm,
        domain=domain,
        document=ExtractedDocument(
            mime="text/plain", pages=tuple(Page(i + 1, t) for i, t in enumerate(pages))
        ),
        source_uri=f"mem://{name}.txt",
        version="1",
        content_hash=name,
        title=name,
    ).document_id


def test_ask_and_chat_answer_only_from_the_filtered_documents(cli, cli_env, sm) -> None:
    from tidyllm.answering import ask
    from tidyllm.answering.chat import chat_turn, start_chat
    from tidyllm.knowledge import create_domain
    from tidyllm.knowledge.catalog import document_filter

    create_domain(sm, "qa")
    old = _index(sm, "qa", "old-report", ["The capital requirement was 8 percent in 2015."])
    new = _index(sm, "qa", "new-report", ["The capital requirement was 10 percent in 2023."])
    describe(sm, {old: {"year": 2015}, new: {"year": 2023, "tags": ["current"]}})
    question = "What was the capital requirement?"
    for where, source in ((document_filter(years="..2016"), "old-report"), (None, None)):
        answer = ask(sm, "qa", question, where=where)
        cited = {c.source_uri for c in answer.citations}
        assert answer.citations
        if source:
            assert cited == {f"mem://{source}.txt"}
    session = start_chat(sm, "qa")
    turn = chat_turn(sm, session, question, where=document_filter(tags=["current"]))
    assert {c.source_uri for c in turn.citations} == {"mem://new-report.txt"}
    out = ok(cli, "ask", "qa", question, "--year", "2015")
    assert "old-report" in out and "new-report" not in out
    result = cli("chat", "qa", "--tag", "current", input=question + "\n\n")
    assert result.exit_code == 0 and "new-report" in result.stdout
    assert "old-report" not in result.stdout


def test_docs_show_lists_the_names_and_why_each_is_the_document(cli, library, sm) -> None:
    from tidyllm.knowledge.dedup import add_name

    doc = library[1]
    with sm.connection() as conn:
        domain, chash = conn.execute(
            "SELECT domain_id, content_hash FROM documents WHERE id = %s", (doc,)
        ).fetchone()
        for uri, reason in (("mem://copy/bert.pdf", "content"), ("mem://2/bert.pdf", "doi")):
            add_name(conn, domain, doc, uri, reason=reason, content_hash=chash, version="1")
    shown = ok(cli, "docs", "show", str(doc))
    assert re.search(r"^ +names: mem://papers/\S+  \(primary: the content", shown, re.M), shown
    assert "mem://copy/bert.pdf  (the same bytes (content hash))" in shown
    assert "mem://2/bert.pdf  (the same DOI)" in shown
    data = json.loads(ok(cli, "docs", "show", str(doc), "--json"))
    assert sorted((n["reason"], n["why"]) for n in data["names"][1:]) == [
        ("content", "the same bytes (content hash)"),
        ("doi", "the same DOI"),
    ]
    assert data["names"][0]["source_uri"] == data["source_uri"]
    single = ok(cli, "docs", "show", str(library[0]))  # one name: the source line says it
    assert "names:" not in single
