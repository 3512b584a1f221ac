"""What the page-level question sets in datasets/ share: the answer check and the writer.

Each set's ``build.py`` holds its questions as ``(id, question, answer phrase,
{page: grade})``, the page that states the answer listed first. :func:`check`
refuses a question whose answer phrase is not on that page (after
:func:`norm`), so a question cannot drift from its page when the text is
extracted again; :func:`write` produces the BEIR files: ``corpus.jsonl`` (one
document per physical page, ids ``page-N``), ``queries.jsonl`` (with the
answer phrase and the pages, answer page first) and ``qrels/test.tsv``.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Mapping, Sequence
from pathlib import Path

Question = tuple[str, str, str, dict[int, int]]


def norm(text: str) -> str:
    """NFKC, soft hyphens and U+FFFE dropped, whitespace collapsed, case folded."""
    text = unicodedata.normalize("NFKC", text).replace("\ufffe", "").replace("\u00ad", "")
    return " ".join(text.split()).casefold()


def check(questions: Sequence[Question], pages: Mapping[int, str]) -> None:
    """Refuse the set (SystemExit) unless ids are unique and every answer is on its page."""
    ids = [qid for qid, *_ in questions]
    if len(set(ids)) != len(ids):
        raise SystemExit("question ids are not unique")
    for qid, _, phrase, relevant in questions:
        first = next(iter(relevant))
        if norm(phrase) not in norm(pages.get(first, "")):
            raise SystemExit(f"{qid}: {phrase!r} is not on page {first}")
        missing = [p for p in relevant if p not in pages]
        if missing:
            raise SystemExit(f"{qid}: pages {missing} have no text")


def write(
    folder: Path,
    questions: Sequence[Question],
    pages: Mapping[int, str],
    page_metadata: Mapping[str, object],
) -> None:
    """Check, then write the three files into ``folder`` (nothing is written on refusal)."""
    check(questions, pages)
    with (folder / "corpus.jsonl").open("w", encoding="utf-8") as out:
        for number, text in sorted(pages.items()):
            metadata = {"page": number, **page_metadata}
            row = {"_id": f"page-{number}", "title": "", "text": text, "metadata": metadata}
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    with (folder / "queries.jsonl").open("w", encoding="utf-8") as out:
        for qid, question, phrase, relevant in questions:
            metadata = {"answer": phrase, "pages": list(relevant)}
            row = {"_id": qid, "text": question, "metadata": metadata}
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    (folder / "qrels").mkdir(exist_ok=True)
    with (folder / "qrels" / "test.tsv").open("w", encoding="utf-8") as out:
        out.write("query-id\tcorpus-id\tscore\n")
        for qid, _, _, relevant in questions:
            for page, grade in relevant.items():
                out.write(f"{qid}\tpage-{page}\t{grade}\n")
    print(f"{len(pages)} pages, {len(questions)} queries written to {folder}")
