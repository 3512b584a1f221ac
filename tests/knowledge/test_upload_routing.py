"""route_upload: first matching rule wins, every condition given must hold, the reasons
name what held; rules to domains outside ``usable`` are as if absent."""

from __future__ import annotations

import fnmatch

from hypothesis import given, settings
from hypothesis import strategies as st

from tidyllm.knowledge.routing import name_matches, route_upload, type_matches
from tidyllm.settings import UploadRoute

PDF = "application/pdf"


def rule(rule_name: str, domain: str, **match) -> UploadRoute:
    return UploadRoute(name=rule_name, domain=domain, match=match)


RULES = [
    rule("big-pdfs", "archive", type=PDF, min_bytes=10_000_000),
    rule("pdfs", "reports", type=PDF, name="*.pdf"),
    rule("notes", "notes", type="text/*", name="*.md", max_bytes=1000),
    rule("small", "inbox", max_bytes=100),
]


def test_first_match_wins_with_its_reasons():
    got = route_upload(RULES, "Q3 Report.PDF", 2_000, PDF)
    assert (got.domain, got.rule) == ("reports", "pdfs")
    assert got.reasons == ["type application/pdf matched application/pdf", "name matched *.pdf"]
    big = route_upload(RULES, "scan.pdf", 20_000_000, PDF)
    assert (big.domain, big.rule) == ("archive", "big-pdfs")
    assert big.reasons[1] == "size 20,000,000 bytes is at least 10,000,000 bytes"


def test_every_condition_must_hold():
    assert route_upload(RULES, "notes.md", 5_000, "text/markdown").domain is None  # too big
    got = route_upload(RULES, "notes.md", 50, "text/markdown")
    assert got.rule == "notes" and got.reasons[-1] == "size 50 bytes is at most 1,000 bytes"
    assert route_upload(RULES, "notes.txt", 50, "text/plain").rule == "small"
    assert route_upload(RULES, "x.pdf", 50, None).rule == "small"  # no type: type rules miss


def test_default_and_nothing():
    got = route_upload(RULES, "a.csv", 5_000, "text/csv", default_domain="inbox")
    assert (got.domain, got.rule) == ("inbox", None) and "default" in got.reasons[0]
    none = route_upload(RULES, "a.csv", 5_000, "text/csv")
    assert (none.domain, none.rule) == (None, None)
    assert none.reasons == ["no rule applies to you: choose a domain"]
    assert route_upload([], "a.pdf", 1, PDF).domain is None


def test_rules_to_unusable_domains_are_as_if_absent():
    usable = {"notes", "inbox"}
    # pdfs -> reports is not usable: the file falls through as if the rule did not exist
    got = route_upload(RULES, "small.pdf", 50, PDF, usable=usable)
    assert (got.domain, got.rule) == ("inbox", "small")
    assert route_upload(RULES, "a.pdf", 5_000, PDF, usable=usable) == route_upload(
        [r for r in RULES if r.domain in usable], "a.pdf", 5_000, PDF
    )
    hidden = route_upload(RULES, "a.pdf", 5_000, PDF, default_domain="reports", usable=usable)
    assert hidden == route_upload([], "a.pdf", 5_000, PDF)
    for decision in (got, hidden):
        assert "reports" not in repr(decision) and "pdfs" not in repr(decision)


def test_type_and_name_matching():
    assert type_matches("text/*", "text/markdown") and type_matches("TEXT/*", "text/csv")
    assert not type_matches("text/*", "textual/x") and not type_matches("text/*", None)
    assert type_matches(PDF, PDF) and not type_matches(PDF, "application/pdfx")
    assert name_matches("*.pdf", "A.PDF") and name_matches("report-??.md", "Report-07.md")
    assert not name_matches("*.pdf", "a.pdf.exe") and name_matches("[!x]*.txt", "a.txt")
    assert name_matches("*.pdf", "folder/sub\\a.pdf")  # the base name only


names = st.text(st.characters(exclude_characters="/\\"), min_size=1, max_size=40)  # base names
types = st.sampled_from([PDF, "text/plain", "text/markdown", "text/csv", None])
sizes = st.integers(min_value=0, max_value=2**53 - 1)
rules = st.lists(
    st.builds(
        lambda i, domain, t, glob, lo, hi: rule(
            f"r{i}",
            domain,
            **{
                k: v
                for k, v in {
                    "type": t,
                    "name": glob,
                    "min_bytes": lo,
                    "max_bytes": None if hi is None or lo is None else lo + hi,
                }.items()
                if v is not None
            }
            or {"min_bytes": 0},
        ),
        st.integers(0, 10**6),
        st.sampled_from(["a", "b", "c"]),
        st.sampled_from([PDF, "text/*", "text/plain", None]),
        st.sampled_from(["*.pdf", "*.md", "*", "x*", None]),
        st.one_of(st.none(), st.integers(0, 10_000)),
        st.one_of(st.none(), st.integers(0, 10_000)),
    ),
    max_size=6,
    unique_by=lambda r: r.name,
)


@settings(max_examples=300, deadline=None)
@given(rules, names, sizes, types, st.sets(st.sampled_from(["a", "b", "c"])))
def test_the_decision_is_the_first_usable_rule_whose_conditions_all_hold(
    found, name, size, detected, usable
):
    got = route_upload(found, name, size, detected, default_domain="c", usable=usable)
    assert got.domain is None or got.domain in usable  # never a domain outside usable

    def holds(r):
        m = r.match
        return (
            (m.type is None or type_matches(m.type, detected))
            and (m.name is None or fnmatch.fnmatchcase(name.lower(), m.name.lower()))
            and (m.min_bytes is None or size >= m.min_bytes)
            and (m.max_bytes is None or size <= m.max_bytes)
        )

    expected = next((r for r in found if r.domain in usable and holds(r)), None)
    if expected is not None:
        assert (got.domain, got.rule) == (expected.domain, expected.name)
        assert len(got.reasons) == sum(
            v is not None
            for v in (
                expected.match.type,
                expected.match.name,
                expected.match.min_bytes,
                expected.match.max_bytes,
            )
        )
    else:
        assert got.rule is None
        assert got.domain == ("c" if "c" in usable else None)
