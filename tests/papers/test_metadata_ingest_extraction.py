"""What a file says about itself (no database): generated PDFs, DOCX and PPTX through the
extraction runner that reads the extra metadata, and the text rules on their own."""

from __future__ import annotations

import pytest
from paper_builders import make_pdf, raw_pdf

from tidyllm.extraction import ExtractedDocument, Page, extract_isolated
from tidyllm.extraction.metadata import (
    extract_with_metadata,
    file_metadata,
    find_arxiv_id,
    find_doi,
    is_junk_title,
    largest_font_text,
    parse_date,
    printed_date,
    split_authors,
)

RUNNER = "tidyllm.extraction.metadata:extract_with_metadata"


BODY = [(10, "We study the validation of stress testing models at large banks."), (10, "x" * 5)]


def test_arxiv_paper_gives_id_doi_largest_font_title_and_printed_date(tmp_path):
    pdf = make_pdf(
        tmp_path / "paper.pdf",
        [
            (8, "arXiv:2410.11842v2 [cs.CL] 15 Oct 2024"),
            (22, "Deep Retrieval for Model Risk"),
            (22, "Management"),
            (11, "Ada Lovelace, Charles Babbage"),
            (9, "Published as doi:10.1234/abcd.5678 (see journal)."),
            *BODY,
        ],
        info={"Title": "Microsoft Word - draft_v3.docx", "CreationDate": "D:20250101120000Z"},
    )
    document = extract_isolated(pdf, runner=RUNNER)  # in the limited child, as the worker does
    assert document.metadata["layout.title"] == "Deep Retrieval for Model Risk Management"
    got = file_metadata(document)
    assert got["title"] == "Deep Retrieval for Model Risk Management"  # junk Info title skipped
    assert got["arxiv_id"] == "2410.11842v2"
    assert got["doi"] == "10.1234/abcd.5678"
    assert (got["date"], got["year"]) == ("2024-10-15", 2024)  # printed, not the file's date


def test_info_title_and_dates_when_the_page_prints_none(tmp_path):
    pdf = make_pdf(
        tmp_path / "report.pdf",
        [(18, "Annual Review"), *BODY],
        info={
            "Title": "Capital  Planning\nat Large Banks",
            "Author": "A. Smith; B. Jones",
            "CreationDate": "D:20190208132219-05'00'",
            "Keywords": "capital, stress",
        },
    )
    got = file_metadata(extract_with_metadata(pdf))
    assert got["title"] == "Capital Planning at Large Banks"
    assert got["authors"] == ["A. Smith", "B. Jones"]
    assert (got["date"], got["year"]) == ("2019-02-08", 2019)
    assert got["fields"] == {"keywords": "capital, stress"}
    assert "arxiv_id" not in got and "doi" not in got


@pytest.mark.parametrize(
    "junk", ["untitled", "Untitled Document", "Microsoft Word - x.docx", "slides.pptx", "", "123"]
)
def test_junk_info_titles_give_way_to_the_largest_font(tmp_path, junk):
    pdf = make_pdf(
        tmp_path / "j.pdf",
        [(9, "Internal memo"), (20, "Liquidity Risk Review"), *BODY],
        info={"Title": junk} if junk else None,
    )
    assert is_junk_title(junk)
    assert file_metadata(extract_with_metadata(pdf))["title"] == "Liquidity Risk Review"


def test_docx_and_pptx_core_properties(tmp_path):
    import docx
    import pptx

    document = docx.Document()
    document.add_paragraph("Model inventory and validation schedule for 2021.")
    document.core_properties.title = "Validation Schedule"
    document.core_properties.author = "Grace Hopper and Alan Turing"
    from datetime import datetime

    document.core_properties.created = datetime(2021, 3, 4, 5, 6, 7)
    document.save(tmp_path / "s.docx")
    got = file_metadata(extract_with_metadata(tmp_path / "s.docx"))
    assert got["title"] == "Validation Schedule"
    assert got["authors"] == ["Grace Hopper", "Alan Turing"]
    assert (got["date"], got["year"]) == ("2021-03-04", 2021)

    deck = pptx.Presentation()
    slide = deck.slides.add_slide(deck.slide_layouts[0])
    slide.shapes.title.text = "Quarterly Risk Update"
    deck.core_properties.title = "PowerPoint Presentation"  # junk: the first slide's title wins
    deck.core_properties.author = "Risk Team"
    deck.save(tmp_path / "d.pptx")
    got = file_metadata(extract_with_metadata(tmp_path / "d.pptx"))
    assert got["authors"] == ["Risk Team"]
    assert "title" not in got or got["title"] != "PowerPoint Presentation"


def test_identifier_and_date_rules():
    assert find_arxiv_id("see arXiv:1706.03762 for details") == "1706.03762"
    assert find_arxiv_id("arXiv:hep-th/9901001v3") == "hep-th/9901001v3"
    assert find_arxiv_id("https://arxiv.org/abs/2410.11842v1.") == "2410.11842v1"
    assert find_arxiv_id("no identifier here, 2410.11842 alone is a number") is None
    assert (
        find_doi("https://doi.org/10.1016/j.jbankfin.2020.105901.")
        == "10.1016/j.jbankfin.2020.105901"
    )
    assert find_doi("(doi 10.1000/182)") == "10.1000/182"
    assert parse_date("D:20170403091648-04'00'") == "2017-04-03"
    assert parse_date("2021-03-04T05:06:07") == "2021-03-04"
    assert parse_date("D:2017") == "2017"
    assert parse_date("garbage") is None
    assert printed_date("OFFICE\nOctober 29, 2015\nTitle") == "2015-10-29"
    assert (
        printed_date("x\n" * 40 + "January 1, 2010") is None
    )  # far down the page: not a cover date
    assert split_authors("Smith, John") == ["Smith, John"]
    assert split_authors("John Smith, Jane Doe and Li Wei") == ["John Smith", "Jane Doe", "Li Wei"]
    assert (
        largest_font_text(
            [
                (30.0, "A"),
                (12.0, "b"),
                (20.0, "T"),
                (20.0, "i"),
                (20.0, "t"),
                (0.0, " "),
                (20.0, "l"),
                (20.0, "e"),
                *[(12.0, "x")] * 20,  # the body text
            ]
        )
        == "Tit le"
    )
    # a page set in one size has no title: its first line is body text
    assert largest_font_text([(10.0, c) for c in "The Federal Reserve selected"]) is None


def test_never_raises_on_odd_documents():
    odd = ExtractedDocument(
        mime="application/pdf",
        pages=(Page(1, "\x00" * 10),),
        metadata={"title": "\x00", "creationdate": "D:0000", "author": " "},
    )
    assert file_metadata(odd) == {}
    assert file_metadata(object()) == {}


XMP = """<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/"
  xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmlns:prism="http://prismstandard.org/namespaces/basic/2.0/"
  xmp:CreateDate="2012-06-30T10:00:00Z">
<dc:format>application/pdf</dc:format>
<dc:title><rdf:Alt><rdf:li xml:lang="de">Titel</rdf:li>
<rdf:li xml:lang="x-default">Counterparty Credit Risk in Practice</rdf:li></rdf:Alt></dc:title>
<dc:creator><rdf:Seq><rdf:li>Mary Smith</rdf:li><rdf:li>Li Wei</rdf:li></rdf:Seq></dc:creator>
<prism:doi>10.5555/ccr.2012.1</prism:doi>
</rdf:Description></rdf:RDF></x:xmpmeta>
<?xpacket end="w"?>"""
LOGO_XMP = XMP.replace("Counterparty Credit Risk in Practice", "Company_Logo_CMYK").replace(
    "2012-06-30", "2001-01-01"
)


def _xmp_pdf(packet: str, *, extra: str = "", hostile: bool = False) -> bytes:
    body = b"BT /F1 9 Tf 40 700 Td (" + b"Body text of the report. " * 4 + b") Tj ET"
    stream = packet.encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R /Metadata 6 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(body) + body + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Type /Metadata /Subtype /XML /Length %d >>\nstream\n" % len(stream)
        + stream
        + b"\nendstream",
    ]
    if extra:  # an image's own packet, not referenced by the catalog, written after
        data = extra.encode()
        objects.append(
            b"<< /Type /Metadata /Length %d >>\nstream\n" % len(data) + data + b"\nendstream"
        )
    return raw_pdf(objects)


def test_xmp_gives_title_creators_date_and_doi_when_the_info_dictionary_is_empty(tmp_path):
    pdf = tmp_path / "x.pdf"
    pdf.write_bytes(_xmp_pdf(XMP, extra=LOGO_XMP))  # the catalog's packet, not the logo's
    got = file_metadata(extract_isolated(pdf, runner=RUNNER))
    assert got["title"] == "Counterparty Credit Risk in Practice"
    assert got["authors"] == ["Mary Smith", "Li Wei"]
    assert (got["date"], got["year"]) == ("2012-06-30", 2012)
    assert got["doi"] == "10.5555/ccr.2012.1"


def test_an_xmp_packet_declaring_entities_is_skipped(tmp_path):
    bomb = XMP.replace(
        "<x:xmpmeta",
        '<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]><x:xmpmeta',
    ).replace("Mary Smith", "&b;")
    pdf = tmp_path / "bomb.pdf"
    pdf.write_bytes(_xmp_pdf(bomb))
    document = extract_isolated(pdf, runner=RUNNER)
    assert document.pages  # the document itself is extracted as ever
    assert "authors" not in file_metadata(document)
