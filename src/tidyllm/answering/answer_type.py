"""Does a sentence hold the kind of answer a question asks for?

:func:`answer_match` grades a candidate sentence for a
:class:`~tidyllm.answering.question_type.QuestionType`:

* ``1.0`` the expected kind, tied to what was asked: a number just before the
  counted noun ("approximately 85 such *reviewers*" for "how many reviewers"),
  a percentage, a month and year, "every three years" for "how often", a name
  holding the asked-for noun ("Model Validation Oversight *Committee*",
  "Jeffreys *test*"), the asked-about term followed by "is", "are", "which
  are", "means", "denotes"... for a definition, or the words an acronym
  stands for;
* ``0.5`` the expected kind somewhere in the sentence (any number, a year,
  any capitalised multi-word name or acronym, a because/due to for "why");
* ``0.0`` none of it.

Values the question itself contains never count: "How many of the 19 banks"
is not answered by a sentence whose only number is 19, nor "which committee
will replace the Model Validation Unit" by "Model Validation Unit".
"""

from __future__ import annotations

import re

from tidyllm.answering.question_type import QuestionType

_NUMBER_WORDS = (
    "one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|"
    "sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|"
    "hundred|thousand|million|billion|trillion|dozen|dozens|hundreds|thousands|millions|half"
)
_MONTHS = (
    "january|february|march|april|may|june|july|august|september|october|november|december|"
    "jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec"
)
_TIME_UNITS = r"(?:second|minute|hour|day|week|month|year|decade|business day)s?"
_NUMBER = re.compile(
    r"(?:[$€£¥]\s?)?\d+(?:[.,]\d+)*(?:\s?(?:%|percent|per cent|million|billion|trillion|bn|m)\b)?"
    r"|\b(?:" + _NUMBER_WORDS + r")(?:[- ](?:" + _NUMBER_WORDS + r"))*\b",
    re.IGNORECASE,
)
_PERCENT = re.compile(
    r"\d+(?:[.,]\d+)?\s?(?:%|percent\b|per cent\b|percentage points?\b)"
    r"|\b(?:one|two|three)[- ](?:half|third|thirds|quarter|quarters|fifth|fifths)\b"
    r"|\b(?:half|a third|a quarter|majority|minority)\s+of\b",
    re.IGNORECASE,
)
_YEAR = re.compile(r"(?<![\d/.,-])(?:1[89]\d{2}|20\d{2})(?![\d/,]|\.\d)")
_DATE = re.compile(
    r"\b(?:" + _MONTHS + r")\.?\s+(?:\d{1,2}(?:st|nd|rd|th)?,?\s+)?(?:1[89]|20)\d{2}\b"
    r"|\b\d{1,2}(?:st|nd|rd|th)?\s+(?:of\s+)?(?:" + _MONTHS + r")\.?,?\s+(?:1[89]|20)\d{2}\b"
    r"|\b\d{1,2}/\d{1,2}/(?:\d{2}|\d{4})\b|\b\d{4}-\d{2}-\d{2}\b"
    r"|\b(?:Q[1-4]|(?:first|second|third|fourth) quarter(?: of)?)\s+(?:1[89]|20)\d{2}\b"
    r"|\b(?:by|in|during|since|until|before|after|from|through)\s+(?:the\s+(?:end|beginning|"
    r"start|middle)\s+of\s+|early\s+|late\s+|mid-?)?(?:1[89]|20)\d{2}\b",
    re.IGNORECASE,
)
_DURATION = re.compile(
    r"(?:\d+(?:[.,]\d+)?|\b(?:" + _NUMBER_WORDS + r")|\ba few|\bseveral)"
    r"(?:[- ](?:\w+[- ])?)" + _TIME_UNITS + r"\b",
    re.IGNORECASE,
)
_CAP = r"(?:[A-Z][\w&'’.-]*|[A-Z]{2,}s?)"
_NAME = re.compile(
    _CAP + r"(?:\s+(?:of|the|and|for|on|de|&)?\s*" + _CAP + r")+"  # two or more capitalised words
    r"|\b[A-Z]{2,6}s?\b"  # an acronym
    r"|\b(?:FIG|Fig|No|Nos|Ser|Appl)\.\s?[\d/,]+[A-Z]?"  # a figure or document number
    r"|\b\d{2,}/\d{3},?\d{3}\b"  # an application number such as 63/069,574
)
_DEFINING = re.compile(
    r"^[\s,]*(?:\([^)]*\)\s*)?(?:,?\s*which\s+(?:is|are)|is|are|was|were|means?|denotes?|"
    r"refers? to|(?:is |are )?defined as|consists? of|:)\b",
    re.IGNORECASE,
)
_MONTH_NAMES = (
    "January|February|March|April|May|June|July|August|September|October|November|December"
)
_DAY_MONTH = re.compile(  # no year; month names capitalised ("may" is usually no month)
    r"\b\d{1,2}(?:st|nd|rd|th)?\s+(?:of\s+)?(?:" + _MONTH_NAMES + r")\b"
    r"|\b(?:" + _MONTH_NAMES + r")\s+\d{1,2}(?:st|nd|rd|th)?\b(?!\s*,?\s*\d)"
)
_FREQUENCY = re.compile(
    r"\bevery\s+(?:\w+\s+)?" + _TIME_UNITS + r"\b|\b(?:annually|yearly|quarterly|monthly|weekly|"
    r"daily|biennially|annual|each\s+year|per\s+(?:year|annum|month|week|day))\b"
    r"|\b(?:once|twice|\w+\s+times)\s+(?:a|per|each)\s+(?:year|month|week|day|quarter)\b",
    re.IGNORECASE,
)
_ACRONYM = re.compile(r"\b[A-Z][A-Za-z]?[A-Z]{1,5}s?\b")
_STANDS_FOR = re.compile(r"\b(?:stands?|stood)\s+for\b|\babbreviat|\bacronym\b", re.IGNORECASE)
_REASON = re.compile(
    r"\b(?:because|due to|since|as a result|so that|in order to|therefore|thus|owing to|"
    r"result(?:s|ed)? in|leads? to|could|risk|cause[sd]?|reason)\b",
    re.IGNORECASE,
)
_ANCHOR_WINDOW = 4  # a number within this many words before the counted noun


def stem(word: str) -> str:
    """A crude English stem, enough to match "reviewers"/"reviewer", "recruited"/"recruit"."""
    word = re.sub(r"['’]s?$", "", word.casefold())
    for suffix, keep in (("ies", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3 and not word.endswith("ss"):
            return word[: -len(suffix)] + keep
    return word


def _norm(text: str) -> str:
    return " ".join(text.casefold().replace(",", "").split())


def _new(values: list[str], question: str) -> list[str]:
    """The values that are not already in the question."""
    asked = _norm(question)
    return [v for v in values if _norm(v) and not re.search(rf"\b{re.escape(_norm(v))}\b", asked)]


def _numbers(sentence: str, question: str) -> list[re.Match[str]]:
    found = [m for m in _NUMBER.finditer(sentence) if not _YEAR.fullmatch(m.group(0).strip())]
    fresh = set(_new([m.group(0) for m in found], question))
    return [m for m in found if m.group(0) in fresh]


def _anchored(sentence: str, spans: list[re.Match[str]], focus: tuple[str, ...]) -> bool:
    """Is one of the ``focus`` words within a few words after one of the ``spans``?"""
    wanted = {stem(w) for w in focus}
    for match in spans:
        following = re.findall(r"[\w'’-]+", sentence[match.end() :])[:_ANCHOR_WINDOW]
        if wanted & {stem(w) for w in following}:
            return True
    return False


def _names(sentence: str, question: str) -> list[str]:
    names = []
    for match in _NAME.finditer(sentence):
        name = re.sub(r"^(?:The|A|An|In|On|At|For|Under|By|To)\s+", "", match.group(0))
        if " " in name or name.isupper() or any(c.isdigit() for c in name):
            names.append(name)
    asked = {w.casefold() for w in re.findall(r"[\w'’-]+", question)}
    return [n for n in _new(names, question) if not {w.casefold() for w in n.split()} <= asked]


def _named_focus(sentence: str, noun: str) -> bool:
    """A capitalised name right before the asked-for noun: "Jeffreys test", "DCF method"."""
    pattern = (
        r"(?<![.!?]\s)\b(?!(?:The|This|That|These|A|An|Each|Any|Our|Its)\b)[A-Z][\w'’-]*"
        r"(?:[\s-]+[A-Z][\w'’-]*)*\s+" + re.escape(noun) + r"s?\b"
    )
    return re.search(pattern, sentence) is not None


def _expands(sentence: str, acronym: str) -> bool:
    """Do consecutive words of ``sentence`` start with the letters of ``acronym``?"""
    letters = acronym.rstrip("s").casefold()
    words = [
        w
        for w in re.findall(r"[A-Za-z]+", sentence)
        if w.casefold() not in ("and", "of", "the", "for", "to", "in")
    ]
    initials = "".join(w[0].casefold() for w in words)
    return len(letters) >= 2 and letters in initials


def _defines(sentence: str, focus: tuple[str, ...]) -> bool:
    """Is the asked-about term (its last word) followed by "is", "are", "which are", "means"...?"""
    if not focus:
        return False
    head = stem(focus[-1])
    for match in re.finditer(r"[\w'’-]+", sentence):
        if stem(match.group(0)) == head and _DEFINING.match(sentence[match.end() :]):
            return True
    return False


def answer_match(qtype: QuestionType, sentence: str, question: str) -> float:
    """1.0, 0.5 or 0.0: how well ``sentence`` holds the kind of answer ``qtype`` expects."""
    kind = qtype.kind
    if kind == "quantity":
        numbers = _numbers(sentence, question)
        if not numbers:
            return 0.0
        return 1.0 if qtype.focus and _anchored(sentence, numbers, qtype.focus) else 0.5
    if kind == "percentage":
        if _new([m.group(0) for m in _PERCENT.finditer(sentence)], question):
            return 1.0
        return 0.5 if _numbers(sentence, question) else 0.0
    if kind == "duration":
        if _new([m.group(0) for m in _DURATION.finditer(sentence)], question):
            return 1.0
        return 0.5 if _numbers(sentence, question) else 0.0
    if kind == "frequency":
        return 1.0 if _FREQUENCY.search(sentence) else 0.0
    if kind == "date":
        if _new([m.group(0) for m in _DATE.finditer(sentence)], question):
            return 1.0
        if _new([m.group(0) for m in _DAY_MONTH.finditer(sentence)], question):
            return 1.0
        return 0.5 if _new(_YEAR.findall(sentence), question) else 0.0
    if kind == "name":
        if qtype.focus and _named_focus(sentence, qtype.focus[0]):
            return 1.0
        names = _names(sentence, question)
        if not names:
            return 0.0
        if qtype.focus and any(stem(qtype.focus[0]) in map(stem, n.split()) for n in names):
            return 1.0
        return 0.5
    if kind == "definition":
        if _STANDS_FOR.search(question):
            acronyms = _ACRONYM.findall(question)
            if any(_expands(sentence, a) for a in acronyms):
                return 1.0
            return 0.5 if _defines(sentence, qtype.focus) else 0.0
        return 1.0 if _defines(sentence, qtype.focus) else 0.0
    if kind == "reason":
        return 0.5 if _REASON.search(sentence) else 0.0
    return 0.0
