"""Tables extracted from PDFs (one row a line, no full stops) become row candidates with
their labels, so the extractive answerer can quote the row that holds a figure."""

from __future__ import annotations

from tidyllm.answering.citations import check_citations
from tidyllm.answering.sentences import MAX_CHARS, split_sentences
from tidyllm.answering.sources import Source
from tidyllm.knowledge.search import Hit

TABLE = (
    "Notional and Fair Value Position of our Derivatives\n"
    "The following table displays the notional amount and estimated fair value of our asset "
    "and liability derivative\ninstruments.\n"
    "As of December 31,\n2024 2023\nNotional\nAmount\nEstimated Fair Value\n"
    "(Dollars in millions)\n"
    "Risk management derivatives designated as\nhedging instruments:\nSwaps:(1)\n"
    "Pay-fixed $ 26,704 $ — $ — $ 9,954 $ — $ —\n"
    "Receive-fixed 10,057 — — 28,587 — —\n"
    "Total risk management derivatives\ndesignated as hedging instruments 36,761 — — 38,541 — —\n"
    "Risk management derivatives not designated\nas hedging instruments:\nSwaps:(1)\n"
    "Pay-fixed 146,628 — — 136,648 — —\n"
    "Receive-fixed 135,686 71 (2,164) 115,288 76 (3,085)\n"
    "Basis 250 26 — 250 44 —\n"
    "Foreign currency 291 — (7) 299 12 —\n"
    "Swaptions:(1)\n"
    "Pay-fixed 1,250 — — 1,750 — —\n"
    "Receive-fixed 1,250 — — 1,750 — —\n"
    "Interest-rate lock commitments 3,470 18 (6) 5,222 42 (9)\n"
    "Mortgage-related securities forward contracts 49,116 134 (31) 46,283 96 (212)\n"
    "Total risk management derivatives not designated as hedging instruments 239,282 249 (2,208)\n"
)


def _source(text: str, number: int = 1) -> Source:
    hit = Hit(
        number, 1, "mem://ar", "AR", 262, 0, len(text), None, text, {}, 1.0, None, None, 1, None
    )
    return Source(number, hit)


def test_a_long_table_is_offered_row_by_row_with_its_labels() -> None:
    table = TABLE.split("instruments.\n", 1)[1]  # the piece after the sentence above the table
    assert len(" ".join(table.split())) > MAX_CHARS  # too long to be one candidate
    texts = [s.text for s in split_sentences(_source(TABLE))]
    # the label lines just above a row travel with it; a row right after a row stands alone
    assert (
        "Risk management derivatives not designated as hedging instruments: Swaps:(1) "
        "Pay-fixed 146,628 — — 136,648 — —"
    ) in texts
    assert "Receive-fixed 135,686 71 (2,164) 115,288 76 (3,085)" in texts
    assert all(len(t) <= MAX_CHARS for t in texts)
    assert not any(t.startswith("Basis") for t in texts)  # shorter than a sentence


def test_row_candidates_are_quotable() -> None:
    source = _source(TABLE)
    for sentence in split_sentences(source):
        checked = check_citations(f"\u201c{sentence.text}\u201d [1]", [source])
        assert checked.valid and not checked.dropped, sentence.text


def test_prose_is_not_cut_into_rows() -> None:
    prose = ("The reviewers validated the models during the stress testing cycle and " * 12).strip()
    assert split_sentences(_source(prose)) == []  # one long piece without numbers: no rows
    short = "Six of the 10 reviewers we interviewed noted the importance of fresh scrutiny."
    assert [s.text for s in split_sentences(_source(short))] == [short]
