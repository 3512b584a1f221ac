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
    assert rules >= {f"TL{n}" for n in (101, 102, 201, 202, 301, 302, 401, 402, 501, 502, 601)}


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


def test_suppressions_are_counted(corpus_result) -> None:
    assert corpus_result.suppressed == 2


def test_findings_carry_everything_a_report_needs(corpus_result) -> None:
    for f in corpus_result.findings:
        assert f.line >= 1 and f.col >= 0
        assert f.rule.startswith("TL") and f.message and f.replacement
        assert len(f.fingerprint) == 20


def test_secret_values_never_appear_in_messages(corpus_result) -> None:
    text = " ".join(f.message for f in corpus_result.findings)
    for secret in ("hunter22", "s3cr3tPass", "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI", "sk-test"):
        assert secret not in text
