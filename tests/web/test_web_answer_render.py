"""The answer fragment of the ask and chat pages, rendered without a browser: citation
markers as links, the quoted words marked in the passage, dropped citations counted, the
not-found state, and every text escaped."""

from __future__ import annotations

from tidyllm.web.pages import templates
from tidyllm.web.routes_ask import Cited, Shown, pieces_of, split_passage


def render(answer: Shown) -> str:
    return templates.get_template("_answer.html").render(answer=answer, domain="fed")


def cited(number: int = 1, **kw: object) -> Cited:
    before, marked, after = split_passage(
        str(kw.pop("text", "Our fieldwork ended in\n March 2015. Staff were interviewed.")),
        str(kw.pop("quote", "fieldwork ENDED in March 2015.")),
    )
    fields = {"title": "report.pdf", "page": 2, "quote": "q", "document_id": 7, "pdf": True}
    fields.update(kw)
    return Cited(number, before=before, marked=marked, after=after, **fields)  # type: ignore[arg-type]


def test_split_passage_ignores_case_and_whitespace_runs() -> None:
    assert split_passage("a Fieldwork  ended\nhere. b", "fieldwork ended here.") == (
        "a ",
        "Fieldwork  ended\nhere.",
        " b",
    )
    assert split_passage("no match here", "other words") == ("no match here", "", "")
    assert split_passage("text", None) == ("text", "", "")
    assert split_passage("(a+b)* [1]", "(a+b)*") == ("", "(a+b)*", " [1]")  # regex-safe


def test_pieces_turn_markers_into_numbers() -> None:
    assert pieces_of("“A.” [1] “B.” [2, 3]") == ["“A.” ", [1], " “B.” ", [2, 3]]
    assert pieces_of("no markers") == ["no markers"]


def test_an_answer_links_its_citations_marks_the_quote_and_counts_the_dropped() -> None:
    html = render(Shown("a", "q", True, ["“Ended.” ", [1]], [cited()], 2, None))
    assert '<a class="cite" href="#cite-a-1" aria-label="Citation 1">[1]</a>' in html
    assert '<details id="cite-a-1"' in html
    assert "Our <mark>fieldwork ended in\n March 2015.</mark> Staff" in html
    assert 'href="/domains/fed/documents/7/view#page=2"' in html
    assert "2 citations could not be checked against the sources and were dropped." in html
    one = render(Shown("a", "q", True, ["x ", [1]], [cited()], 1, None))
    assert "1 citation could not be checked against the sources and was dropped." in one
    plain = render(Shown("a", "q", True, ["x ", [1]], [cited(pdf=False)], 0, None))
    assert 'href="/domains/fed/documents/7/view"' in plain and "dropped" not in plain
    none = render(Shown("a", "q", True, ["x ", [1]], [cited(document_id=None)], 0, None))
    assert "/view" not in none


def test_not_found_is_its_own_state() -> None:
    html = render(Shown("a", "q", False, ["Not found in the documents."], [], 0, None))
    assert 'data-found="false"' in html and "Not found in the documents." in html
    assert "cite" not in html


def test_every_text_is_escaped() -> None:
    hostile = '<script>alert(1)</script><img src=x onerror=alert(2)><a href="javascript:x">'
    c = cited(text=f"before {hostile} after", quote=hostile, title=hostile)
    html = render(Shown("a", hostile, True, [hostile, [1]], [c], 0, hostile))
    assert "<script" not in html and "<img" not in html and '<a href="javascript' not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<mark>&lt;script&gt;" in html
