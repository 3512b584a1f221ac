"""What kind of answer a question asks for: a quantity, a share, a date, a duration, a name...

A small rule table read from the question's opening words, so an extractive
answer can prefer the sentence that holds that kind of answer (see
:mod:`tidyllm.answering.answer_type`):

==============  ==========================================================
kind            questions
==============  ==========================================================
``percentage``  what share / percentage / proportion / fraction / percent
``quantity``    how many / how much / what (notional) number / amount / how large
``duration``    how long / for how long / how old
``frequency``   how often
``date``        when / what year / on what date / what was the deadline...
``name``        who / whom / whose / which bank, committee, test, method, person...
``definition``  what is / what are / what does X mean / define / how are X classified
``reason``      why / for what reason
``other``       anything else (how does..., yes/no questions, which gadgets...)
==============  ==========================================================

``focus`` is the word the answer is about when the question names one: the
noun after "how many" (``reviewers``), the kind of name after "which"
(``committee``), the subject of a definition (``late-stage changes``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass


def _wordset(text: str) -> frozenset[str]:
    return frozenset(text.split())


KINDS = (
    "percentage",
    "quantity",
    "duration",
    "frequency",
    "date",
    "name",
    "definition",
    "reason",
    "other",
)

#: Nouns after "which" that ask for a proper name or an identifier (an organisation, a person,
#: a document or a part of one such as "FIG. 1").
NAME_NOUNS = _wordset(
    """agency applicant application approach assignee author bank body board brand bureau claim
    committee company council country court department director directorate division
    document drawing entity examiner figure firm group institution inventor journal law
    letter manager model office official organisation organization panel party person
    publication regulation regulator report standard statistic table team test unit university
    website index method metric measure"""
)
#: Words that end the noun phrase after "how many" / "which": auxiliaries, prepositions, verbs.
_PHRASE_END = _wordset(
    """is are was were be been did does do will would shall should can could may might must
    has have had of in on at to for by with from than that which who whom the a an and or
    not published issued selected wrote leads led appears appear shows show makes make
    gave give runs run uses use relies rely"""
)
_WORD = re.compile(r"[\w'’-]+")
_WH_PREFIX = re.compile(r"^(?:and|so|also|then|according to [^,]+,|in [^,]+,)\s*", re.IGNORECASE)
_PERCENT = re.compile(
    r"\b(?:what|which)\s+(?:\w+\s+)?(?:share|percentage|proportion|fraction|percent|"
    r"per cent|portion|rate)\b|\bhow\s+(?:big|large)\s+(?:a\s+)?(?:share|proportion|fraction)\b",
    re.IGNORECASE,
)
_HOW_MANY = re.compile(r"\bhow\s+(?:many|much)\b", re.IGNORECASE)
_QUANTITY = re.compile(
    r"\b(?:what|which)\s+(?:is\s+the\s+|was\s+the\s+)?(?:\w+\s+)?"  # "what notional amount"
    r"(?:number|amount|size|total|sum|count|value|quantity|cost|price)\b"
    r"|\bhow\s+(?:large|big|high|low|far|tall)\b"
    r"|\b(?:above|below|over|under)\s+what\s+(?:size|amount|level|value|threshold)\b",
    re.IGNORECASE,
)
_DURATION = re.compile(r"\bhow\s+(?:long|old)\b", re.IGNORECASE)
_FREQUENCY = re.compile(r"\bhow\s+(?:often|frequently)\b", re.IGNORECASE)
_DATE = re.compile(
    r"\bwhen\b|\b(?:what|which)\s+(?:year|month|day|date|quarter|decade|period|time)\b"
    r"|\bwhat\s+(?:is|was|were|are)\s+the\s+(?:[\w-]+\s+)?(?:date|deadline|year)\b"
    r"|\bby\s+what\s+(?:date|time|year)\b|\bsince\s+when\b",
    re.IGNORECASE,
)
_LEAD = re.compile(
    r"^(?:[\w'’-]+[,;:]?\s+){0,2}?(?=(?:who|whom|whose|what|which|when|where|why|how)\b)", re.I
)
_WHO = re.compile(r"\b(?:who|whom|whose)\b", re.IGNORECASE)
_WHO_COMPOSED = re.compile(r"^who\s+(?:makes?|made)\s+up\b", re.IGNORECASE)
_WHICH = re.compile(r"\bwhich\b", re.IGNORECASE)
_REASON = re.compile(r"\bwhy\b|\bfor\s+what\s+reason\b|\bwhat\s+(?:caused|causes)\b", re.I)
_DEFINITION = re.compile(
    r"^(?:what|who)\s+(?:is|are|was|were)\s+(?:an?\s+|the\s+)?(?P<a>[^?]+?)\??$"
    r"|^what\s+does\s+(?:an?\s+|the\s+)?(?P<b>[^?]+?)\s+(?:mean|denote|stand for|refer to|"
    r"represent|describe|do)\??$"
    r"|^(?:define|explain)\s+(?:an?\s+|the\s+)?(?P<c>[^?]+?)\??$"
    r"|^how\s+(?:is|are)\s+(?:an?\s+|the\s+)?(?P<d>[^?]+?)\s+(?:defined|classified|"
    r"categori[sz]ed|described)\b",
    re.IGNORECASE,
)
_STOP_FOCUS = _wordset("""the a an of in on at to for by with and or""")


@dataclass(frozen=True)
class QuestionType:
    """The kind of answer expected and, when the question names it, what it is about."""

    kind: str
    focus: tuple[str, ...] = ()

    @property
    def wants_value(self) -> bool:
        """A number, share, duration, frequency or date: a sentence without one cannot answer."""
        return self.kind in ("percentage", "quantity", "duration", "frequency", "date")


def _phrase_after(text: str, at: int, limit: int = 3) -> list[str]:
    """Up to ``limit`` words after ``at`` (skipping a leading "of the"), to an auxiliary."""
    words = []
    found = _WORD.findall(text[at:])
    while found and found[0].casefold() in ("of", "the"):
        found = found[1:]
    for word in found[:limit]:
        folded = word.casefold()
        if folded in _PHRASE_END:
            break
        if not folded.isdigit():
            words.append(folded)
    return words


def _bare(word: str) -> str:
    return re.sub(r"['’]s?$", "", word)


def classify_question(question: str) -> QuestionType:
    """The :class:`QuestionType` of ``question`` (``other`` when no rule applies).

    Only the question's opening decides: "How does it know how far..." is not a
    quantity question. A question without a wh-word in its first three words (a
    yes/no question) is ``other``.
    """
    body = _WH_PREFIX.sub("", " ".join(str(question).split()))
    definition = _DEFINITION.search(body)
    lead = _LEAD.match(body)
    if lead is None:
        return _definition(definition) if definition else QuestionType("other")
    wh = lead.end()  # where the opening wh-word starts; a rule must match by there

    def opens(pattern: re.Pattern[str]) -> re.Match[str] | None:
        match = pattern.search(body)
        return match if match is not None and match.start() <= wh else None

    if opens(_PERCENT):
        return QuestionType("percentage")
    if opens(_DURATION):
        return QuestionType("duration")
    if opens(_FREQUENCY):
        return QuestionType("frequency")
    how_many = opens(_HOW_MANY)
    if how_many:
        words = _phrase_after(body, how_many.end())
        return QuestionType("quantity", tuple(w for w in words if w not in ("additional", "more")))
    if opens(_QUANTITY):
        return QuestionType("quantity")
    if opens(_DATE):
        return QuestionType("date")
    if opens(_WHO) and not _WHO_COMPOSED.search(body):
        return QuestionType("name")
    which = opens(_WHICH)
    if which:
        words = _phrase_after(body, which.end())
        named = [
            _bare(w) for w in words if _bare(w) in NAME_NOUNS or _bare(w).rstrip("s") in NAME_NOUNS
        ]
        head = _bare(words[-1]) if words else ""
        if named and (head in named or any(w.endswith(("'s", "’s")) for w in words)):
            return QuestionType("name", (named[-1],))
    if opens(_REASON):
        return QuestionType("reason")
    if definition:
        return _definition(definition)
    return QuestionType("other")


def _definition(match: re.Match[str]) -> QuestionType:
    """The term to define: the subject up to its first preposition ("late-stage changes")."""
    subject = next(g for g in match.groups() if g)
    words = []
    for word in _WORD.findall(subject):
        folded = word.casefold()
        if folded in _PHRASE_END and words:
            break
        if folded not in _PHRASE_END:
            words.append(folded)
    return QuestionType("definition", tuple(words))
