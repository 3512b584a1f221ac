"""Question classification: what kind of answer a question asks for (a pure rule table)."""

from __future__ import annotations

import pytest

from tidyllm.answering.question_type import KINDS, QuestionType, classify_question


@pytest.mark.parametrize(
    ("question", "kind", "focus"),
    [
        ("How many reviewers did the MVU recruit?", "quantity", ("reviewers",)),
        # the focus is up to three words (a verb may slip in); one of them is enough to anchor
        (
            "How many of the interviewed reviewers agreed?",
            "quantity",
            ("interviewed", "reviewers", "agreed"),
        ),
        ("How much additional capital was required?", "quantity", ("capital",)),
        ("By how many days was the patent term extended?", "quantity", ("days",)),
        ("What is the total amount of deposits?", "quantity", ()),
        # one adjective may stand between "what" and the quantity noun
        ("What notional amount of swaps was outstanding at year end?", "quantity", ()),
        ("What market value did the portfolio reach?", "quantity", ()),
        ("Above what size of assets must banks run stress tests?", "quantity", ()),
        ("What share of the models did the OIG sample?", "percentage", ()),
        ("What percentage of loans were past due?", "percentage", ()),
        ("How long do reviewers have to validate a change?", "duration", ()),
        ("At minimum, how often must supervisors review the system?", "frequency", ()),
        ("How old can a borrower's rating be?", "duration", ()),
        ("When was SR Letter 11-7 issued?", "date", ()),
        ("On what date did the agencies issue the statement?", "date", ()),
        ("What was the cut-off date in 2018 for the plans?", "date", ()),
        ("In what year did the program start?", "date", ()),
        ("By what date must the plan be filed?", "date", ()),
        ("Who was the primary examiner of the patent?", "name", ()),
        ("To whom is the memorandum addressed?", "name", ()),
        ("Which Reserve Bank was selected to lead the function?", "name", ("bank",)),
        ("Which committee will replace the unit?", "name", ("committee",)),
        ("Which sportswear brand's app appears in the prior art?", "name", ("brand",)),
        ("Which Bayesian test must banks use?", "name", ("test",)),
        ("What are late-stage changes to models?", "definition", ("late-stage", "changes")),
        ("What is the countdown?", "definition", ("countdown",)),
        ("What does LASSO stand for?", "definition", ("lasso",)),
        ("What does the virtual timer denote?", "definition", ("virtual", "timer")),
        ("How are findings in validation reports classified?", "definition", ("findings",)),
        ("Why did the reviewers not validate the vendor model?", "reason", ()),
        # the opening decides; a wh-word inside the question does not
        ("How does the device know how far the runner went?", "other", ()),
        ("In what ways can the app warn a runner who left too early?", "other", ()),
        ("Who makes up the Model Validation Council?", "other", ()),
        ("Which gadgets can the software run on?", "other", ()),
        ("What model development cycle has the MOG instituted?", "other", ()),
        ("Did the MVU share its ratings with the reviewers?", "other", ()),
        ("And when will it change?", "date", ()),
        ("According to SR 11-7, who must keep the inventory?", "name", ()),
    ],
)
def test_classification_table(question: str, kind: str, focus: tuple[str, ...]) -> None:
    assert classify_question(question) == QuestionType(kind, focus)


@pytest.mark.parametrize(
    "question", ["", "   ", "?", "how", "which", "😀 🚀", "\x00\x01", "what " * 5000, "Ω≈ç√∫"]
)
def test_odd_questions_are_classified_without_error(question: str) -> None:
    assert classify_question(question).kind in KINDS


def test_value_kinds() -> None:
    assert QuestionType("quantity").wants_value and QuestionType("date").wants_value
    assert not QuestionType("name").wants_value and not QuestionType("other").wants_value
