"""Documents' metadata and collections through the library: listing with filters and
keyset pages, show with provenance, edits and tags kept in the edited layer, collections
in several domains, and access: a user not granted learns nothing, a viewer edits nothing;
writes audited."""

from __future__ import annotations

import pytest
from catalog_helpers import add_documents, describe

from tidyllm.access import Actor, add_grant, add_user, read_audit
from tidyllm.errors import DocumentNotFound, DomainNotFound, InvalidCursor, PermissionDenied
from tidyllm.knowledge.catalog import (
    CatalogError,
    catalog_entries,
    document_filter,
    list_catalog,
    parse_assignments,
    parse_years,
    set_fields,
    show_entry,
    tag_document,
    untag_document,
)
from tidyllm.knowledge.collections import (
    CollectionExists,
    CollectionNotFound,
    add_to_collection,
    create_collection,
    delete_collection,
    list_collections,
    remove_from_collection,
    show_collection,
)
from tidyllm.knowledge.metadata import write_layer
from tidyllm.knowledge.search import search

PASSWORD = "correct horse battery staple 42"


@pytest.fixture
def papers(sm):
    ids = add_documents(sm, "papers", 6)
    describe(
        sm,
        {
            ids[0]: {"title": "Attention", "year": 2017, "authors": ["Ashish Vaswani"]},
            ids[1]: {"title": "BERT", "year": 2019, "authors": ["Jacob Devlin"], "tags": ["nlp"]},
            ids[2]: {"title": "GPT-3", "year": 2020, "doi": "10.5555/GPT3", "tags": ["nlp"]},
            ids[3]: {"title": "Stress tests", "year": 2015, "arxiv_id": "1501.00001"},
        },
    )
    return sm, ids


def _actor(sm, name: str, role: str) -> Actor:
    user = add_user(sm, name, role, PASSWORD)
    return Actor(user.id, user.name, user.role)


def test_list_filters_and_pages(papers) -> None:
    sm, ids = papers
    page = list_catalog(sm, "papers", limit=4)
    assert [e.id for e in page.documents] == sorted(ids, reverse=True)[:4]
    rest = list_catalog(sm, "papers", limit=4, cursor=page.next_cursor)
    assert [e.id for e in rest.documents] == sorted(ids, reverse=True)[4:]
    assert rest.next_cursor is None

    def titles(**kw) -> list[str | None]:
        return [e.title for e in list_catalog(sm, "papers", where=document_filter(**kw)).documents]

    assert titles(years="2018..2020") == ["GPT-3", "BERT"]
    assert titles(years="..2016") == ["Stress tests"]
    assert titles(tags=["nlp"], years="2020") == ["GPT-3"]
    assert titles(author="DEVLIN") == ["BERT"]
    assert titles(author="vaswani") == ["Attention"]
    assert titles(identifier="doi:10.5555/gpt3") == ["GPT-3"]  # a DOI: any case
    assert titles(identifier="arxiv:1501.00001") == ["Stress tests"]
    assert titles(identifier="1501.00001") == ["Stress tests"]
    assert titles(author="100%_") == []  # LIKE wildcards are literal
    with pytest.raises(InvalidCursor):  # a cursor belongs to its filter
        list_catalog(
            sm, "papers", limit=4, cursor=page.next_cursor, where=document_filter(tags="x")
        )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2024..2020", "runs backwards.*did you mean 2020..2024"),
        ("abc", "not understood"),
        ("99999", "not understood"),
        ("0..2000", "year 0 is out of range"),
        ("..", "not understood"),
        ("2020 2021", "not understood"),
        ("2020\x00", "not understood"),
        ("1" * 100, "at most 40"),
    ],
)
def test_bad_year_ranges_are_clear(text, message) -> None:
    with pytest.raises(CatalogError, match=message):
        parse_years(text)


def test_year_ranges() -> None:
    assert parse_years("2020..2024") == (2020, 2024)
    assert parse_years(" 2021 ") == (2021, 2021)
    assert parse_years("2020..") == (2020, None)
    assert parse_years("..2024") == (None, 2024)


def test_hostile_filters() -> None:
    for bad in ({"author": "a\x00b"}, {"tags": ["x" * 301]}, {"collection": "\n"}, {"author": " "}):
        with pytest.raises(CatalogError):
            document_filter(**bad)
    with pytest.raises(CatalogError, match="no value after doi"):
        document_filter(identifier="doi:")
    assert document_filter(identifier="url:https://x.org/a").identifier == "url:https://x.org/a"


def test_show_set_tag_untag_with_provenance(papers) -> None:
    sm, ids = papers
    doc = ids[1]
    entry = show_entry(sm, doc)
    assert entry.title == "BERT" and entry.metadata.provenance["title"] == "sidecar"
    values = parse_assignments(["year=2018", "authors=J. Devlin; M. Chang", "fields.venue=NAACL"])
    edited = set_fields(sm, doc, values)
    m = edited.metadata
    assert (m.year, m.authors, m.fields["venue"]) == (2018, ("J. Devlin", "M. Chang"), "NAACL")
    assert m.provenance["year"] == "edited" and m.provenance["title"] == "sidecar"
    assert edited.layers["edited"]["year"] == 2018
    cleared = set_fields(sm, doc, {"title": ""})  # an empty value clears the field
    assert "title" not in cleared.metadata.provenance and "title" in cleared.layers["edited"]
    assert tag_document(sm, doc, ["nlp", "encoder", "encoder"]).metadata.tags == ("nlp", "encoder")
    assert untag_document(sm, doc, ["nlp", "absent"]).metadata.tags == ("encoder",)
    # a re-ingest rewrites the file's own layers; the edits stay on top
    with sm.connection() as conn:
        write_layer(
            conn, doc, "sidecar", {"title": "New", "year": 2000, "tags": ["x"]}, replace=True
        )
    again = show_entry(sm, doc).metadata
    assert (again.year, again.tags) == (2018, ("encoder",))
    assert "title" not in again.provenance  # the edit's clearing holds over the new sidecar
    with pytest.raises(CatalogError, match=r"unknown field 'colour'.*fields\.NAME"):
        set_fields(sm, doc, {"colour": "red"})
    with pytest.raises(CatalogError, match="four-digit year"):
        set_fields(sm, doc, {"year": "99999"})
    with pytest.raises(CatalogError, match="cannot be cleared"):
        set_fields(sm, doc, {"fields.venue": ""})
    with pytest.raises(CatalogError, match="not accepted"):
        set_fields(sm, doc, {"fields.1bad": "x"})
    huge = set_fields(sm, doc, {"abstract": "a" * 5_000_000, "notes": "n\x00o\x07te"})
    assert len(huge.metadata.abstract or "") == 20_000 and huge.metadata.notes == "n o te"
    for bad in (0, -1, 2**63, "12", True):
        with pytest.raises(DocumentNotFound):
            show_entry(sm, bad)


def test_collections_in_two_domains(papers) -> None:
    sm, ids = papers
    other = add_documents(sm, "other", 2)
    create_collection(sm, "reading list", domain="papers", description="to\x00read")
    create_collection(sm, "reading list", domain="other")
    with pytest.raises(CollectionExists, match=r"already exists.*collections show 'reading list'"):
        create_collection(sm, "reading list", domain="papers")
    with pytest.raises(
        CatalogError, match=r"2 domains.*add --domain other or --domain papers to the command"
    ):
        show_collection(sm, "reading list")
    added = add_to_collection(sm, "reading list", [ids[0], ids[1], ids[0]], domain="papers")
    assert added.changed == [ids[0], ids[1]] and added.collection.documents == 2
    again = add_to_collection(sm, "reading list", [ids[1], ids[2]], domain="papers")
    assert (again.changed, again.unchanged) == ([ids[2]], [ids[1]])
    with pytest.raises(DocumentNotFound, match="nothing was changed"):  # another domain's doc
        add_to_collection(sm, "reading list", [ids[3], other[0]], domain="papers")
    create_collection(sm, "surveys", domain="papers")
    add_to_collection(sm, "surveys", [ids[0]])  # one visible match: no --domain needed
    shown = show_collection(sm, "reading list", domain="papers")
    assert [d for d, _ in shown.documents] == sorted([ids[0], ids[1], ids[2]], reverse=True)
    assert show_entry(sm, ids[0]).collections == ("reading list", "surveys")
    listed = list_catalog(sm, "papers", where=document_filter(collection="reading list"))
    assert {e.id for e in listed.documents} == {ids[0], ids[1], ids[2]}
    removed = remove_from_collection(sm, "reading list", [ids[1], ids[4]], domain="papers")
    assert (removed.changed, removed.unchanged, removed.collection.documents) == (
        [ids[1]],
        [ids[4]],
        2,
    )
    names = [(c.domain, c.name, c.documents) for c in list_collections(sm)]
    assert names == [
        ("other", "reading list", 0),
        ("papers", "reading list", 2),
        ("papers", "surveys", 1),
    ]
    assert [c.name for c in list_collections(sm, domain="other")] == ["reading list"]
    assert delete_collection(sm, "surveys").documents == 1
    assert show_entry(sm, ids[0]).collections == ("reading list",)
    with pytest.raises(CollectionNotFound, match="its collections: reading list"):
        show_collection(sm, "surveys", domain="papers")
    with pytest.raises(CatalogError, match="invalid collection name"):
        create_collection(sm, "../x", domain="papers")
    with pytest.raises(DomainNotFound):
        list_collections(sm, domain="nope")


def test_entries_by_id_stay_in_their_domain(papers) -> None:
    sm, ids = papers
    other = add_documents(sm, "other", 1)
    entries = catalog_entries(sm, "papers", [ids[1], ids[0], other[0], ids[0] + 10_000])
    assert [(e.id, e.title, e.metadata.authors) for e in entries] == [
        (ids[1], "BERT", ("Jacob Devlin",)),
        (ids[0], "Attention", ("Ashish Vaswani",)),
    ]  # newest first; another domain's id and a missing one are left out
    assert catalog_entries(sm, "papers", []) == []
    outsider = _actor(sm, "ola", "editor")
    with pytest.raises(DomainNotFound):
        catalog_entries(sm, "papers", ids, actor=outsider)
    with pytest.raises(DocumentNotFound):
        catalog_entries(sm, "papers", [0])


def test_a_user_not_granted_learns_nothing_and_a_viewer_edits_nothing(papers) -> None:
    sm, ids = papers
    hidden = add_documents(sm, "hidden", 1)
    create_collection(sm, "secret", domain="hidden")
    create_collection(sm, "shared", domain="hidden")
    create_collection(sm, "shared", domain="papers")
    add_to_collection(sm, "secret", hidden)
    viewer = _actor(sm, "val", "editor")  # an editor by role, but only viewer in 'papers'
    add_grant(sm, "papers", user="val", role="viewer")
    editor = _actor(sm, "eve", "editor")
    add_grant(sm, "papers", user="eve", role="editor")

    def message(call) -> str:
        with pytest.raises(Exception) as caught:
            call()
        return f"{type(caught.value).__name__}: {caught.value}"

    # the hidden domain's document, collection and domain answer like missing ones
    missing_id = hidden[0] + 1000
    assert message(lambda: show_entry(sm, hidden[0], actor=viewer)).replace(
        str(hidden[0]), "N"
    ) == message(lambda: show_entry(sm, missing_id, actor=viewer)).replace(str(missing_id), "N")
    assert message(lambda: show_collection(sm, "secret", actor=viewer)) == message(
        lambda: show_collection(sm, "never", actor=viewer)
    ).replace("never", "secret")
    assert message(lambda: list_catalog(sm, "hidden", actor=viewer)) == message(
        lambda: list_catalog(sm, "hiddem", actor=viewer)
    ).replace("hiddem", "hidden")
    assert [c.domain for c in list_collections(sm, actor=viewer)] == ["papers"]
    # 'shared' exists in both domains, but val sees one: no ambiguity, no hint of the other
    assert show_collection(sm, "shared", actor=viewer).collection.domain == "papers"
    with pytest.raises(DomainNotFound):
        search(sm, "hidden", "apple", where=document_filter(collection="secret"), actor=viewer)
    with pytest.raises(DocumentNotFound):
        add_to_collection(sm, "shared", hidden, actor=editor)
    # a viewer reads but never writes
    assert show_entry(sm, ids[0], actor=viewer).title == "Attention"
    for call in (
        lambda: set_fields(sm, ids[0], {"year": "2001"}, actor=viewer),
        lambda: tag_document(sm, ids[0], ["x"], actor=viewer),
        lambda: untag_document(sm, ids[0], ["x"], actor=viewer),
        lambda: create_collection(sm, "mine", domain="papers", actor=viewer),
        lambda: add_to_collection(sm, "shared", [ids[0]], actor=viewer),
        lambda: remove_from_collection(sm, "shared", [ids[0]], actor=viewer),
        lambda: delete_collection(sm, "shared", actor=viewer),
    ):
        with pytest.raises(PermissionDenied, match="grants add papers --user val --role editor"):
            call()
    # an editor's writes are audited
    set_fields(sm, ids[0], {"year": "2016"}, actor=editor)
    tag_document(sm, ids[0], ["classic"], actor=editor)
    untag_document(sm, ids[0], ["classic"], actor=editor)
    create_collection(sm, "mine", domain="papers", actor=editor)
    add_to_collection(sm, "mine", [ids[0]], actor=editor)
    remove_from_collection(sm, "mine", [ids[0]], actor=editor)
    delete_collection(sm, "mine", actor=editor)
    events = [(e.actor_name, e.action, e.target) for e in read_audit(sm) if e.actor_name == "eve"]
    target = f"document:papers/{ids[0]}"
    assert events == [
        ("eve", "document.edit", target),
        ("eve", "document.tag", target),
        ("eve", "document.untag", target),
        ("eve", "collection.create", "collection:papers/mine"),
        ("eve", "collection.add", "collection:papers/mine"),
        ("eve", "collection.remove", "collection:papers/mine"),
        ("eve", "collection.delete", "collection:papers/mine"),
    ]
