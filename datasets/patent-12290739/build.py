# ruff: noqa: E501  (the question table reads best one question per line)
"""Rebuild corpus.jsonl, queries.jsonl and qrels/test.tsv from the scanned patent US 12,290,739 B2.

Run from the repository root: ``python datasets/patent-12290739/build.py [PDF]``.

The PDF is 18 scanned pages with no text layer, so the corpus text comes from
TidyLLM's own OCR path (``extract`` with ``ExtractLimits(ocr=True)``, about
80-160 s on two cores). The corpus is one document per physical page (ids
``page-N``, 1-based). The questions were written by reading that OCR text
page by page; each lists the pages that answer it (grade 2: states the
answer; grade 1: states it in passing, e.g. a claim or a drawing repeating
the step) and a short answer phrase that this script checks is really on the
FIRST listed page, so a question cannot silently drift from its page or from
the OCR. ``metadata.pages`` keeps that order (answer page first).

Each question is marked ``# literal`` (reuses the page's wording) or
``# paraphrased`` (asked the way a user would, with different vocabulary),
so the evaluation is not tilted towards full-text search the way a set of
copied phrases would be.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # datasets/page_qa.py, shared by the set builders

import page_qa  # noqa: E402

DEFAULT_PDF = HERE.parents[2] / "shared" / "corpus" / "us-patent-12290739.pdf"
if not DEFAULT_PDF.exists():  # the same file ships in the repository's samples/
    DEFAULT_PDF = HERE.parents[1] / "samples" / "us-patent-12290739.pdf"
PAGE_COUNT = 18
# OCR takes ~5-9 s a page on two cores; generous, so a busy machine does not fail the build.
OCR_SECONDS = 1800.0

# (id, question, answer phrase found on the first page listed, {page: grade})
# fmt: off
QUESTIONS: list[page_qa.Question] = [
    # --- front page (bibliographic data, abstract, representative drawing) and page 2
    ("q01", "Who came up with this invention for timing your own workouts, and where does he live?", "Oswald Leroy Skeete", {1: 2}),  # paraphrased
    ("q02", "By how many days was the protection period of this patent lengthened?", "883 days", {1: 2}),  # paraphrased
    ("q03", "Which provisional application does the patent claim priority to?", "63/069,574", {16: 2, 1: 2}),  # literal
    ("q04", "Who was the primary examiner of the patent?", "Edwin A.Leon", {1: 2}),  # literal
    ("q05", "How many claims and how many drawing sheets does the patent have?", "7 Claims, 13 Drawing Sheets", {1: 2}),  # literal
    ("q06", "Which sportswear brand's fitness app appears in the prior art the examiner looked at?", "Adidas Running App", {1: 2}),  # paraphrased
    ("q07", "Which website published the article on the best running apps cited under other publications?", "Verywellfit.com", {2: 2}),  # literal
    # --- background, field and summary (page 16)
    ("q08", "Which built-in phone sensors does the software rely on?", "global positioning system (GPS) modules and", {16: 2, 1: 2}),  # paraphrased
    ("q09", "What do track athletes call the runner who sets the pace, which the app imitates?", "The concept of a rabbit is well known", {16: 2, 1: 1}),  # paraphrased
    ("q10", "Can it time me in the pool as well as on foot?", "run, walk, or swim", {16: 2}),  # paraphrased
    ("q11", "How were sprinters usually clocked before apps like this existed?", "by a coach using a stopwatch", {16: 2}),  # paraphrased
    ("q12", "Which gadgets can the timing software run on?", "smart phones, smart wearables, laptops, personal computers", {16: 2, 1: 2}),  # paraphrased
    ("q13", "What does the virtual timer denote?", "timer denotes an internal clock within the mobile computing", {16: 2}),  # literal
    ("q14", "How does the device know how far the runner went?", "track and record the distance travelled by the user", {16: 2, 1: 2, 4: 1, 18: 1}),  # paraphrased
    ("q15", "What is the desired activity distance?", "a recorded user input representing the distance the user", {16: 2}),  # literal
    # --- brief description of the drawings (page 16) and the drawings (pages 3-15)
    ("q16", "Which figure is a block diagram illustrating the system of the invention?", "FIG. 1 is a block diagram illustrating the system of the", {16: 2, 3: 1}),  # literal
    ("q17", "Which drawing shows the part where you check where you are during a workout?", "FIG. 13 is a flowchart illustrating a subprocess of utilizing location services", {16: 2, 15: 2, 17: 1}),  # paraphrased
    ("q18", "What makes the app stop the clock by itself at the end of the run?", "greater than or equal to the desired distance", {4: 2, 18: 2, 1: 1}),  # paraphrased
    ("q19", "How does the app work out my finishing result from the two clock readings?", "time difference between the end timestamp and the start timestamp", {4: 2, 1: 1, 18: 1}),  # paraphrased
    # --- detailed description (pages 16-18)
    ("q20", "Does the distance have to be covered on a flat track?", "traversed on flat, rough, or other terrain", {17: 2}),  # paraphrased
    ("q21", "What is the countdown?", "The countdown is a periodic decre", {17: 2}),  # literal
    ("q22", "How does the phone notice that I jumped the gun before the start?", "amount of movement registered by the accelerometer before", {17: 2, 8: 1, 18: 1, 16: 1}),  # paraphrased
    ("q23", "In what ways can the app warn a runner who left too early?", "visual, audio, or tactile alerts", {17: 2, 18: 2}),  # paraphrased
    ("q24", "Why might jump-start detection be held back slightly after zero is reached?", "one-tenth of a second", {17: 2}),  # paraphrased
    ("q25", "What is the motion threshold stored on the mobile computing device?", "a minimum value requirement that must be", {17: 2, 11: 1, 18: 1}),  # literal
    ("q26", "Can I time just my top-speed section once I'm already going fast?", "get up to a desired speed", {17: 2, 16: 1, 11: 1}),  # paraphrased
    ("q27", "How can I record split times at checkpoints along a run?", "The virtual timer may then be lapped", {17: 2, 14: 1, 16: 1}),  # paraphrased
    ("q28", "Can I stop the clock to take a breather and carry on later?", "may resume timing as desired", {17: 2, 12: 1, 18: 1, 16: 1}),  # paraphrased
    # --- claims (page 18)
    ("q29", "Does the patented method show the runner's position on a map?", "location is visually displayed on a virtual geospatial", {18: 2, 15: 1, 17: 1}),  # paraphrased
    ("q30", "What does claim 7 add about resetting the virtual timer?", "prompting to reset the virtual timer through the graphic", {18: 2, 13: 1, 17: 1}),  # literal
]
# fmt: on


def ocr_pages(pdf: Path) -> dict[int, str]:
    """OCR every page with TidyLLM's extractor; refuse if OCR is not installed or not used."""
    from tidyllm.extraction import ExtractLimits, extract, ocr_available

    if not ocr_available():
        raise SystemExit("OCR is not installed: pip install 'tidyllm[ocr]'")
    document = extract(pdf, limits=ExtractLimits(ocr=True, max_seconds=OCR_SECONDS))
    if not document.ocr:
        raise SystemExit(f"{pdf.name}: expected a scanned PDF, but no page needed OCR")
    return {p.number: p.text for p in document.pages if p.text.strip()}


def write(pages: dict[int, str], source: str, folder: Path = HERE) -> None:
    """Check the questions against ``pages``, then write the set into ``folder``."""
    page_qa.write(folder, QUESTIONS, pages, {"source": source, "ocr": True})


def main(pdf: Path) -> None:
    pages = ocr_pages(pdf)
    if len(pages) != PAGE_COUNT:
        raise SystemExit(f"{pdf.name}: OCR gave text on {len(pages)} of {PAGE_COUNT} pages")
    write(pages, pdf.name)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_PDF)
