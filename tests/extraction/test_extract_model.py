"""The result types and the error type: frozen, JSON round-trip, codes validated."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest

from tidyllm.extraction import (
    Block,
    ExtractedDocument,
    ExtractionError,
    ExtractLimits,
    Page,
    extract,
)


def test_document_json_round_trip_is_exact() -> None:
    doc = ExtractedDocument(
        mime="text/markdown",
        pages=(Page(1, "# T\n\nx", (Block("heading", "T", 1), Block("paragraph", "x"))),),
        title="T",
        metadata={"author": "A"},
        warnings=("w",),
        ocr=False,
    )
    assert ExtractedDocument.from_dict(json.loads(json.dumps(doc.to_dict()))) == doc


def test_document_is_immutable() -> None:
    doc = ExtractedDocument(mime="text/plain", pages=(Page(1, "x"),), metadata={"a": "b"})
    with pytest.raises(AttributeError):
        doc.title = "changed"  # type: ignore[misc]
    with pytest.raises(TypeError):
        doc.metadata["a"] = "c"  # type: ignore[index]


@pytest.mark.parametrize("number", [0, -1])
def test_pages_are_one_based(number: int) -> None:
    with pytest.raises(ValueError, match="1-based"):
        Page(number, "x")


def test_unknown_block_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="block kind"):
        Block("caption", "x")  # type: ignore[arg-type]


def test_error_codes_are_a_closed_set() -> None:
    with pytest.raises(ValueError, match="unknown extraction error code"):
        ExtractionError("oops", "message")


def test_error_survives_pickling_with_code_and_hint() -> None:
    error = ExtractionError("encrypted", "locked", hint="remove the password")
    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own bytes, just made
    assert (copy.code, str(copy), copy.hint) == ("encrypted", "locked", "remove the password")


@pytest.mark.parametrize("field", ["max_bytes", "max_pages", "max_memory_mb", "max_seconds"])
def test_limits_must_be_positive(field: str) -> None:
    with pytest.raises(ValueError, match=field):
        ExtractLimits(**{field: 0})


def test_ocr_raises_the_memory_budget_only_when_on() -> None:
    assert ExtractLimits().memory_mb == 1024
    assert ExtractLimits(ocr=True).memory_mb == 1536
    assert ExtractLimits(ocr=True, max_memory_mb=4096).memory_mb == 4096


def test_in_process_deadline_stops_between_pages(fed_pdf: Path) -> None:
    with pytest.raises(ExtractionError) as info:
        extract(fed_pdf, limits=ExtractLimits(max_seconds=1e-9))
    assert info.value.code == "timeout"
