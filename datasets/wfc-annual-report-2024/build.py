# ruff: noqa: E501  (the question table reads best one question per line)
"""Rebuild corpus.jsonl, queries.jsonl and qrels/test.tsv from the legacy KB's annual report.

Run from the repository root: ``python datasets/wfc-annual-report-2024/build.py [PDF]``.

The PDF is ``wfc-annual-report-q42024.pdf`` from the legacy system's knowledge
base. Despite its file name it is **Fannie Mae's** 2024 Form 10-K (297 pages;
the extractor's title is "2024 Form 10-K"), not a Wells Fargo report; see the
README. The corpus is one document per physical page (ids
``wfc-annual-report-q42024/page-N``, text from TidyLLM's own extractor; the
blank last page is left out). The default ``ExtractLimits`` suffice: the text
layer of all 297 pages comes out in about 2 s, far inside the 60 s and
2000-page limits.

The questions were written by reading the extracted text page by page. Each
lists the pages that answer it, answer page first (grade 2: states the
answer; grade 1: states it in passing) and a short answer phrase that
``page_qa`` checks is really on the first listed page. Each is marked
``# text`` or ``# table`` (where the answer sits) and ``literal`` or
``paraphrased`` (whether the question reuses the page's wording).
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # datasets/page_qa.py, shared by the set builders

import page_qa  # noqa: E402

DEFAULT_PDF = HERE.parents[2] / "shared" / "corpus" / "legacy-kb" / "wfc-annual-report-q42024.pdf"
SOURCE = "wfc-annual-report-q42024.pdf"
PAGE_COUNT = 297

# (id, question, answer phrase found on the first page listed, source, {page: grade})
# fmt: off
QUESTIONS: list[page_qa.SourcedQuestion] = [
    # --- Business: about the company, human capital, conservatorship and Treasury agreements
    ("ar01", "Roughly how many people did the company employ at the end of 2024?", "approximately 8,200 employees", SOURCE, {10: 2, 204: 2}),  # text, paraphrased
    ("ar02", "What share of staff took part in the company's last engagement survey of 2024?", "78% of employees participated", SOURCE, {10: 2}),  # text, paraphrased
    ("ar03", "What slice of the common equity can the government buy for a token price under the warrant it received in 2008?", "79.9% of our common stock, on a fully diluted basis, for a nominal price", SOURCE, {12: 2, 16: 2, 55: 2, 207: 2, 209: 2, 235: 2, 271: 2, 273: 2, 33: 1, 127: 1, 238: 1}),  # text, paraphrased
    ("ar04", "How much has the government collected in total in dividends on its senior preferred stake through the end of 2024?", "has received a total of $181.4 billion", SOURCE, {13: 2, 209: 2}),  # text, paraphrased
    ("ar05", "What will the aggregate liquidation preference of the senior preferred stock be as of March 31, 2025?", "$216.1 billion as of March 31, 2025", SOURCE, {14: 2, 73: 2, 130: 2, 270: 2}),  # text, literal
    ("ar06", "If the company sold new common shares, how much of the gross proceeds could it keep instead of paying down the government's senior stock?", "retain up to $70 billion in aggregate gross cash proceeds", SOURCE, {14: 2, 271: 2}),  # text, paraphrased
    ("ar07", "What ceiling does the deal with the Treasury put on the company's total borrowings?", "indebtedness in excess of $270 billion", SOURCE, {15: 2, 237: 2, 123: 2}),  # text, paraphrased
    # --- Business: legislation and regulation (charter, capital, receivership, housing goals)
    ("ar08", "What is the largest original balance the company may accept in 2025 for a loan on a one-unit home in most of the country?", "$806,500 for 2025", SOURCE, {17: 2, 90: 2}),  # text, paraphrased
    ("ar09", "By how much did the company fall short, buffers included, of its risk-based total capital requirement at the end of 2024?", "$227 billion shortfall", SOURCE, {18: 2, 129: 2}),  # text, paraphrased
    ("ar10", "How long must a net worth deficit last before the Federal Housing Finance Agency is obliged to put the company into receivership?", "for a period of 60 days", SOURCE, {18: 2, 31: 2, 235: 2}),  # text, paraphrased
    ("ar11", "Which two of its 2023 single-family affordable-lending targets did the company fail to hit?", "missed the single-family low-income home purchase goal and the single-family very low-income home purchase goal", SOURCE, {19: 2}),  # text, paraphrased
    ("ar12", "How did the company score in 2023 on the affordable-lending target for refinancings by lower-income owner-occupants, whose benchmark was 26%?", "26 40.3 38.4", SOURCE, {20: 2}),  # table, paraphrased
    ("ar13", "What share of the goal-eligible apartment units the company financed in 2023 were affordable to low-income families, against a 61% target?", "Low-income goal(1) 61 % 76.3 %", SOURCE, {21: 2}),  # table, paraphrased
    # --- Risk factors, cybersecurity, legal proceedings, market for the common stock
    ("ar14", "What particular risk does the use of AI/ML techniques in the company's models bring?", "risk of undetected bias in the model", SOURCE, {44: 2, 45: 1, 148: 1}),  # text, paraphrased
    ("ar15", "To which executive does the CSO answer?", "reports to our Chief Operating Officer", SOURCE, {52: 2}),  # text, paraphrased
    ("ar16", "How much did the jury award Fannie Mae's preferred shareholders in the D.C. trial over the 2012 changes to the Treasury agreement?", "awarded damages of $299.4 million", SOURCE, {53: 2, 296: 2}),  # text, paraphrased
    ("ar17", "When did the country's highest court turn down the request to review the appeals ruling in the stockholders' Michigan lawsuit?", "which the Supreme Court denied on June 12, 2023", SOURCE, {54: 2}),  # text, paraphrased
    ("ar18", "About how many shareholders of record held the common stock in early February 2025?", "approximately 7,300 registered holders of record", SOURCE, {55: 2}),  # text, paraphrased
    # --- MD&A: segment results, credit risk, credit ratios, liquidity and capital, climate, critical estimates
    ("ar19", "How much did the apartment-lending business earn after tax in 2024?", "Net income $ 2,548 $ 2,553", SOURCE, {76: 2, 268: 2}),  # table, paraphrased
    ("ar20", "What share of the single-family loans covered by the rep-and-warrant framework have already freed their lenders from buyback liability?", "73% of the outstanding loans", SOURCE, {85: 2}),  # text, paraphrased
    ("ar21", "At the end of 2024, what proportion of the multifamily guaranty book was no longer accruing interest?", "0.74 % 0.50 % 0.71 %", SOURCE, {120: 2}),  # table, paraphrased
    ("ar22", "What average interest rate was the company paying on its borrowings of a year or less at the end of 2024?", "Interest rate on short-term debt 4.33 %", SOURCE, {124: 2, 259: 2}),  # table, paraphrased
    ("ar23", "How much long-term debt did the company issue during 2024?", "$ 49,422 $ 8,636", SOURCE, {125: 2}),  # table, literal
    ("ar24", "What rating does Moody's give the company's preferred stock?", "Ca(hyb)", SOURCE, {128: 2}),  # table, literal
    ("ar25", "What were the company's RWA under the standardized approach of the ERCF at year-end 2024?", "Risk-weighted assets 1,364", SOURCE, {129: 2, 275: 2}),  # table, literal
    ("ar26", "What fraction of apartment-building loans sit in designated high-risk flood zones?", "7.4% of loans in our multifamily guaranty book", SOURCE, {143: 2, 37: 2}),  # text, paraphrased
    ("ar27", "What approach is used to estimate expected credit losses on loans backed by apartment buildings?", "undiscounted loss method", SOURCE, {149: 2, 221: 2}),  # text, paraphrased
    # --- Governance and compensation
    ("ar28", "At which firm did the chief operating officer hired in 2024 work before joining?", "Managing Director at Morgan Stanley from 2015 to May 2024", SOURCE, {178: 2}),  # text, paraphrased
    ("ar29", "What was the finance chief's total compensation for 2024?", "136,630 3,418,177", SOURCE, {198: 2}),  # table, paraphrased
    ("ar30", "How many times the typical worker's pay did the chief executive receive for 2024?", "4.0 to 1", SOURCE, {204: 2}),  # table, paraphrased
    ("ar31", "How much did the outside accounting firm bill for the audit itself for 2024?", "Audit fees $ 37,325,580", SOURCE, {211: 2}),  # table, paraphrased
    ("ar32", "Up to what amount per engagement may the head of the audit committee sign off on extra work by the external auditor?", "up to $1 million per engagement", SOURCE, {212: 2, 176: 2}),  # text, paraphrased
    # --- Financial statements and notes
    ("ar33", "How many shares of common stock were outstanding at the end of 2024?", "1,158,087,567 shares outstanding", SOURCE, {222: 2, 1: 1}),  # table, literal
    ("ar34", "At the end of 2024, how much of the 20- and 30-year fixed-rate single-family book (amortized cost) was underwater, with an estimated current LTV above 100%?", "Greater than 100% 266 670 1,616 208 48 133 2,941", SOURCE, {245: 2}),  # table, paraphrased
    ("ar35", "How much in apartment loans was charged off against the loss allowance in 2024?", "Write-offs 505 401 43", SOURCE, {256: 2, 118: 2, 121: 2, 247: 2}),  # table, paraphrased
    ("ar36", "What weighted-average interest rate did the company's outstanding CAS debt carry at the end of 2024?", "2025 - 2031 2,055 10.99", SOURCE, {260: 2}),  # table, literal
    ("ar37", "What notional amount of swaps in which the company pays a fixed rate, outside hedge accounting, was outstanding at the end of 2024?", "Pay-fixed 146,628", SOURCE, {262: 2}),  # table, paraphrased
    ("ar38", "What share of its 2024 pre-tax income did the company book as federal income tax?", "Effective tax rate 20.2 %", SOURCE, {266: 2}),  # table, paraphrased
    ("ar39", "How much in assets did the apartment-lending segment hold at the end of 2024?", "Multifamily 525,891", SOURCE, {268: 2}),  # table, paraphrased
    ("ar40", "What was the CET1 available capital (deficit) ratio at December 31, 2024?", "Common equity tier 1 capital (56) 61 142 (4.1)", SOURCE, {275: 2, 129: 1}),  # table, literal
    ("ar41", "At what rate does post-judgment interest accrue on the class-action damages?", "a rate of 5.01%", SOURCE, {296: 2}),  # text, literal
    ("ar42", "How much future rent does the company still owe on leased offices and equipment (operating leases) as of the end of 2024?", "Total $ 35,336 $ 602", SOURCE, {296: 2}),  # table, paraphrased
]
# fmt: on


def extract_pages(pdf: Path) -> tuple[str | None, dict[int, str]]:
    """The extractor's title and the text of every page that has any."""
    from tidyllm.extraction import extract

    document = extract(pdf)
    if len(document.pages) != PAGE_COUNT:
        raise SystemExit(f"{pdf.name}: {len(document.pages)} pages, expected {PAGE_COUNT}")
    return document.title, {p.number: p.text for p in document.pages if p.text.strip()}


def write(title: str | None, pages: dict[int, str], folder: Path = HERE) -> None:
    """Check the questions against ``pages``, then write the set into ``folder``."""
    page_qa.write_documents(folder, QUESTIONS, {SOURCE: (title, pages)})


def main(pdf: Path) -> None:
    title, pages = extract_pages(pdf)
    write(title, pages)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_PDF)
