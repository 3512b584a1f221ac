"""Answer-type detection: does a sentence hold the kind of answer the question asks for?"""

from __future__ import annotations

import pytest

from tidyllm.answering.answer_type import answer_match, stem
from tidyllm.answering.question_type import classify_question

TABLE = [
    # (question, sentence, expected grade)
    (
        "How many reviewers did the MVU recruit?",
        "It recruited approximately 85 such reviewers.",
        1.0,
    ),
    ("How many reviewers did the MVU recruit?", "The report detailed six recommendations.", 0.5),
    ("How many reviewers did the MVU recruit?", "The MVU recruited reviewers from the Banks.", 0.0),
    ("How many reviewers were recruited in 2014?", "Reviewers were recruited in 2014.", 0.0),
    ("How many of the 19 banks failed?", "All 19 banks were examined closely.", 0.0),
    ("How many of the 19 banks failed?", "Ten of the 19 banks failed the test.", 1.0),
    ("How much capital was needed?", "They needed $185 billion in capital.", 1.0),
    ("What share of the models was sampled?", "We sampled approximately 16 percent.", 1.0),
    ("What share of the models was sampled?", "We sampled 12 models out of 75.", 0.5),
    ("What share of the models was sampled?", "We sampled some of the models.", 0.0),
    ("How long do reviewers have?", "Reviewers have an additional three weeks.", 1.0),
    ("How long do reviewers have?", "Reviewers have time to do it.", 0.0),
    ("When was SR 11-7 issued?", "In April 2011, the Board issued SR 11-7.", 1.0),
    ("When will the transition end?", "It ends by the end of 2016.", 1.0),
    ("When will the transition end?", "The 2016 plan sets out the transition.", 0.5),
    ("When was the 2015 review done?", "The 2015 review was thorough.", 0.0),
    ("On what date was the circular issued?", "The circular dated 5th August 2024.", 1.0),
    ("What was the cut-off date for the plans?", "The deadline is 15th June.", 1.0),
    ("How often must supervisors review it?", "They review it at least every three years.", 1.0),
    ("How often must supervisors review it?", "They review it thoroughly.", 0.0),
    ("Which Bayesian test must banks use?", "Banks use a Jeffreys test for this.", 1.0),
    ("Which Bayesian test must banks use?", "The test must be used by banks.", 0.0),
    ("What does LASSO stand for?", "The least absolute shrinkage and selection operator.", 1.0),
    ("What does LASSO stand for?", "LASSO is a regression method.", 0.5),
    ("Who was the primary examiner?", "Primary Examiner: Edwin A. Leon", 0.5),
    (
        "Which committee will replace the MVU?",
        "The Model Validation Oversight Committee will.",
        1.0,
    ),
    ("Which committee will replace the MVU?", "Staff from the Reserve Banks will.", 0.5),
    ("Which committee will replace the MVU?", "the committee will replace the MVU soon.", 0.0),
    ("What are late-stage changes?", "Late-stage changes are changes made late.", 1.0),
    ("What are late-stage changes?", "Late-stage changes, which are rare, matter.", 1.0),
    ("What are late-stage changes?", "Validate all material late-stage changes.", 0.0),
    ("What does the virtual timer denote?", "The virtual timer denotes an internal clock.", 1.0),
    ("Why was the model not validated?", "It was not validated because it was trusted.", 0.5),
    ("Did the MVU share its ratings?", "The MVU did not share the ratings.", 0.0),
]


@pytest.mark.parametrize(("question", "sentence", "grade"), TABLE)
def test_answer_type_table(question: str, sentence: str, grade: float) -> None:
    assert answer_match(classify_question(question), sentence, question) == grade


@pytest.mark.parametrize("sentence", ["", " ", "•", "$", "%%%", "1" * 5000, "A " * 3000, "\x00"])
def test_odd_sentences_never_crash(sentence: str) -> None:
    for question in ("How many?", "When?", "Who?", "What is X?", "Why?", "Which bank?"):
        assert answer_match(classify_question(question), sentence, question) in (0.0, 0.5, 1.0)


def test_stem_matches_plural_and_past_forms() -> None:
    assert stem("reviewers") == stem("reviewer") == "reviewer"
    assert stem("recruited") == stem("recruit")
    assert stem("BHCs") == "bhc" and stem("bank's") == "bank"
