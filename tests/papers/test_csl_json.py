"""The CSL-JSON export is what a real citation processor reads: citeproc-py renders it."""

from __future__ import annotations

import json

from citeproc import (
    Citation,
    CitationItem,
    CitationStylesBibliography,
    CitationStylesStyle,
    formatter,
)
from citeproc.source.json import CiteProcJSON

from tidyllm.knowledge.bibtex import to_csl_json
from tidyllm.knowledge.metadata import DocumentMetadata


def test_citeproc_renders_the_export():
    paper = DocumentMetadata(
        document_id=1,
        title="Heat Engines and Their Limits",
        authors=("Sadi Carnot", "Kelvin, Lord", "WHO"),
        year=2023,
        date="2023-01-15",
        doi="10.1000/heat",
        arxiv_id="2301.00001v2",
        fields={"journal": "Annals of Heat", "volume": "3", "pages": "1-10"},
    )
    items = json.loads(to_csl_json([paper]))
    assert items[0]["author"] == [
        {"given": "Sadi", "family": "Carnot"},
        {"family": "Kelvin", "given": "Lord"},
        {"literal": "WHO"},
    ]
    assert items[0]["issued"] == {"date-parts": [[2023, 1, 15]]}
    style = CitationStylesStyle("harvard-cite-them-right", validate=False)
    bibliography = CitationStylesBibliography(style, CiteProcJSON(items), formatter.plain)
    bibliography.register(Citation([CitationItem(items[0]["id"])]))
    [reference] = [str(entry) for entry in bibliography.bibliography()]
    assert reference.startswith("Carnot, S., Kelvin, L. and WHO (2023)")
    assert "Heat Engines and Their Limits" in reference
    assert "Annals of Heat, 3, pp. 1\u201310" in reference  # the style's en dash
    assert "https://doi.org/10.1000/heat" in reference
