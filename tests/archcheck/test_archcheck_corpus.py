"""The labelled corpus: every violation found, no false positive.

Each corpus file marks its offending lines with ``# expect: RULE[, RULE...]``;
a file without marks must produce no finding at all. Precision and recall
are computed over (file, line, rule) triples, counting duplicates.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from tidyllm.archcheck import CheckConfig, check

CORPUS = Path(__file__).parent / "corpus"
EXPECT = re.compile(r"#\s*expect:\s*([A-Z0-9, ]+)")


def _expected() -> Counter[tuple[str, int, str]]:
    expected: Counter[tuple[str, int, str]] = Counter()
    for path in sorted(CORPUS.rglob("*.py")):
        rel = path.relative_to(CORPUS).as_posix()
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            match = EXPECT.search(line)
            if match:
                for rule in match.group(1).split(","):
                    expected[(rel, number, rule.strip())] += 1
    return expected


@pytest.fixture(scope="module")
def corpus_result():
    config = CheckConfig(root=CORPUS, allow={"*": ("tidyllm.session",)})
    return check([CORPUS], config)


def test_corpus_is_big_enough() -> None:
    files = list(CORPUS.rglob("*.py"))
    labelled = {key[0] for key in _expected()}
    assert len(files) >= 60
    assert len(labelled) >= 50
    rules = {key[2] for key in _expected()}
    every = (101, 102, 201, 202, 301, 302, 401, 402, 403, 404, 405, 406, 501, 502, 601, 602)
    assert rules >= {f"TL{n}" for n in every}


def test_precision_and_recall_are_both_100_percent(corpus_result) -> None:
    expected = _expected()
    found: Counter[tuple[str, int, str]] = Counter()
    for f in corpus_result.findings:
        found[(f.path.split("corpus/", 1)[1], f.line, f.rule)] += 1
    true_pos = sum((expected & found).values())
    missed = expected - found
    false_pos = found - expected
    recall = true_pos / sum(expected.values())
    precision = true_pos / max(sum(found.values()), 1)
    print(f"corpus: {true_pos} found, recall {recall:.3f}, precision {precision:.3f}")
    assert not missed, f"missed violations: {sorted(missed)}"
    assert not false_pos, f"false positives: {sorted(false_pos)}"
    assert recall == precision == 1.0


def _tl502(counter: Counter[tuple[str, int, str]]) -> Counter[tuple[str, int, str]]:
    """TL502's labelled set: the corpus files named ``*secret*`` (true and false kinds)."""
    return Counter(
        {k: n for k, n in counter.items() if k[2] == "TL502" and "secret" in Path(k[0]).name}
    )


def test_tl502_precision_and_recall_on_its_labelled_set(corpus_result) -> None:
    # The false-positive kinds of issue 14 (scanner patterns and AKIAXXXX placeholders,
    # URL templates in help text, AWS's example keys, enum values) beside real secrets.
    expected = _tl502(_expected())
    found = _tl502(
        Counter((f.path.split("corpus/", 1)[1], f.line, f.rule) for f in corpus_result.findings)
    )
    true_pos = sum((expected & found).values())
    precision = true_pos / max(sum(found.values()), 1)
    recall = true_pos / sum(expected.values())
    files = len(list(CORPUS.rglob("*secret*.py")))
    print(
        f"TL502 labelled set: {files} files, {sum(expected.values())} secrets, "
        f"{sum(found.values())} reported, precision {precision:.3f}, recall {recall:.3f}"
    )
    assert sum(expected.values()) >= 10
    assert precision >= 0.9
    assert recall == 1.0


def test_suppressions_are_counted(corpus_result) -> None:
    assert corpus_result.suppressed == 2


def test_findings_carry_everything_a_report_needs(corpus_result) -> None:
    for f in corpus_result.findings:
        assert f.line >= 1 and f.col >= 0
        assert f.rule.startswith("TL") and f.message and f.replacement
        assert len(f.fingerprint) == 20


def test_secret_values_never_appear_in_messages(corpus_result) -> None:
    text = " ".join(f.message for f in corpus_result.findings)
    for secret in (
        "hunter22",
        "s3cr3tPass",
        "AKIA4QZ7T2XK6LMB3RWD",
        "q8Xv3LmN2pR7tY0wZk5",
        "sk-test",
        "Tr0ub4dor",
        "Kq8vX2mR9",
    ):
        assert secret not in text
