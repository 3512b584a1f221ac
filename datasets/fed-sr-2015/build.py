# ruff: noqa: E501  (the question table reads best one question per line)
"""Rebuild corpus.jsonl, queries.jsonl and qrels/test.tsv from the Fed OIG report.

Run from the repository root: ``python datasets/fed-sr-2015/build.py [PDF]``.

The corpus is one document per physical page of
fed-sr-model-validation-stress-testing-2015.pdf (ids ``page-N``, text from
TidyLLM's own extractor; pages without a text layer are left out). The
questions were written by reading the report; each lists the pages that
answer it (grade 2: states the answer; grade 1: states it in passing) and a
short answer phrase that this script checks is really on the first listed
page, so a question cannot silently drift from its page.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # datasets/page_qa.py, shared by the set builders

import page_qa  # noqa: E402

DEFAULT_PDF = (
    HERE.parents[2] / "shared" / "corpus" / "fed-sr-model-validation-stress-testing-2015.pdf"
)

# (id, question, answer phrase found on the first page listed, {page: grade})
QUESTIONS: list[page_qa.Question] = [
    (
        "q01",
        "How many reviewers did the MVU recruit for the 2014-2015 supervisory stress test cycle?",
        "approximately 85 such reviewers",
        {13: 2, 19: 1},
    ),
    (
        "q02",
        "Which Reserve Bank was selected to lead the stress testing model validation function permanently?",
        "Federal Reserve Bank of Minneapolis (FRB Minneapolis) to lead",
        {16: 2},
    ),
    (
        "q03",
        "How much additional capital were the SCAP bank holding companies required to add?",
        "$185 billion in capital",
        {9: 2},
    ),
    (
        "q04",
        "How many of the 19 SCAP bank holding companies did not meet the capital adequacy requirements?",
        "Ten of the 19",
        {9: 2},
    ),
    (
        "q05",
        "Above what size of total consolidated assets must bank holding companies undergo annual Dodd-Frank stress tests?",
        "$50 billion or more",
        {10: 2, 8: 2, 3: 1},
    ),
    ("q06", "How many BHCs were included in the 2014-2015 CCAR?", "31 BHCs were included", {11: 2}),
    (
        "q07",
        "When was SR Letter 11-7, Supervisory Guidance on Model Risk Management, issued?",
        "In April 2011",
        {11: 2},
    ),
    (
        "q08",
        "What two characteristics does the MVU assess when it validates a model?",
        "soundness reviews",
        {13: 2},
    ),
    (
        "q09",
        "How are findings in model validation reports classified?",
        "Level 1 findings",
        {13: 2},
    ),
    (
        "q10",
        "How long do reviewers have to validate a model change after developers implement it?",
        "additional three weeks",
        {14: 2},
    ),
    (
        "q11",
        "How many internal reviews did the MVU complete in 2014 to assess its performance?",
        "three reviews",
        {15: 2, 3: 1},
    ),
    (
        "q12",
        "What did the MVU's gap analysis conclude about its staffing approach compared with industry practice?",
        "not consistent with",
        {15: 2, 3: 1},
    ),
    (
        "q13",
        "By when will model validation transition to the new staffing approach with full-time staff?",
        "by the end of 2016",
        {16: 2},
    ),
    (
        "q14",
        "Which committee will replace the Model Validation Unit?",
        "Model Validation Oversight Committee (MVOC), which will replace the MVU",
        {16: 2, 2: 1},
    ),
    (
        "q15",
        "How many recommendations did the December 2014 governance review make?",
        "detailed six recommendations",
        {16: 2},
    ),
    (
        "q16",
        "Did the MVU share its performance ratings with the reviewers?",
        "did not formally share the performance feedback",
        {17: 2},
    ),
    (
        "q17",
        "Why could a limited pool of specialized reviewers be a risk for some models?",
        "key-personnel dependencies",
        {18: 2},
    ),
    (
        "q18",
        "How many of the interviewed reviewers stressed the importance of fresh scrutiny of models?",
        "Six of the 10 reviewers",
        {18: 2},
    ),
    (
        "q19",
        "What are late-stage changes to models?",
        "changes implemented by model developers after the validation period concludes",
        {21: 2},
    ),
    (
        "q20",
        "What does the exceptions log that the MOG gives the MVU describe?",
        "exceptions log",
        {22: 2},
    ),
    (
        "q21",
        "What model development cycle has the MOG instituted for new models?",
        "two-year model development cycle",
        {22: 2},
    ),
    (
        "q22",
        "According to SR Letter 11-7, what information is useful to include in a model inventory?",
        "inputs, outputs, intended use",
        {24: 2},
    ),
    (
        "q23",
        "Which three additional elements should be included in the model inventory?",
        "developed in-house or by a vendor",
        {25: 2, 26: 2, 4: 1},
    ),
    (
        "q24",
        "Who is responsible for maintaining the model inventory according to management's response?",
        "the MOG is responsible for",
        {26: 2},
    ),
    (
        "q25",
        "How many reviewers documented limitations in their model validation reports?",
        "only 3 reviewers documented",
        {27: 2},
    ),
    (
        "q26",
        "Why did the reviewers decide not to validate the vendor model?",
        "widely used and, therefore, trusted",
        {27: 2},
    ),
    (
        "q27",
        "When did the OIG conduct its fieldwork for this evaluation?",
        "June 2014 through March 2015",
        {29: 2, 28: 1},
    ),
    (
        "q28",
        "What examples of limitations does the revised validation report template list?",
        "time constraints",
        {28: 2},
    ),
    (
        "q29",
        "What share of the top-level models did the OIG sample in its evaluation?",
        "approximately 16 percent",
        {29: 2},
    ),
    ("q30", "Who makes up the Model Validation Council?", "individuals from academia", {12: 2}),
    (
        "q31",
        "To whom is the memorandum transmitting the report addressed?",
        "Michael Gibson",
        {5: 2},
    ),
    (
        "q32",
        "When did the Federal Reserve first publish results of the CCAR supervisory stress test?",
        "March 2012",
        {8: 2, 11: 2},
    ),
]


def main(pdf: Path) -> None:
    from tidyllm.extraction import extract

    document = extract(pdf)
    pages = {p.number: p.text for p in document.pages if p.text.strip()}
    page_qa.write(HERE, QUESTIONS, pages, {"source": pdf.name})


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_PDF)
