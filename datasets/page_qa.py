"""What the page-level question sets in datasets/ share: the answer check and the writers.

Each set's ``build.py`` holds its questions as ``(id, question, answer phrase,
{page: grade})`` (one-document sets) or ``(id, question, answer phrase, source
file, {page: grade})`` (sets over several documents), the page that states the
answer listed first. :func:`check` refuses a question whose answer phrase is
not on that page (after :func:`norm`), so a question cannot drift from its page
when the text is extracted again. :func:`write` and :func:`write_documents`
produce the BEIR files: ``corpus.jsonl`` (one row per physical page; ids
``page-N``, or ``KEY/page-N`` with KEY the source file's stem; ``metadata``
holds ``source``, ``page`` and, when the extractor found one, the document's
``title``), ``queries.jsonl`` (the answer phrase, the source, the pages -
answer page first - and the split) and ``qrels/test.tsv``.

**Split.** Every question is in the ``tune`` or the ``heldout`` part, decided
by :func:`split_of` from its id alone (a hash), before anything is measured:
parameters are chosen on ``tune`` only, and ``heldout`` reports what a new
question can expect. ``tidyllm eval`` groups the pages of one source back into
one multi-page document, as ``tidyllm ingest`` would index the file.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from collections.abc import Mapping, Sequence
from pathlib import Path

Question = tuple[str, str, str, dict[int, int]]
SourcedQuestion = tuple[str, str, str, str, dict[int, int]]
SPLITS = ("tune", "heldout")


def split_of(set_name: str, qid: str) -> str:
    """``tune`` or ``heldout`` for a question: half each, from a hash of set name and id."""
    digest = hashlib.sha256(f"{set_name}/{qid}".encode()).digest()
    return SPLITS[digest[0] % 2]


def page_id(key: str | None, page: int) -> str:
    """The corpus id of a page: ``page-N``, or ``KEY/page-N`` in a multi-document set."""
    return f"{key}/page-{page}" if key else f"page-{page}"


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
    source = str(page_metadata.get("source", ""))
    sourced = [(qid, q, phrase, source, relevant) for qid, q, phrase, relevant in questions]
    _write_files(folder, sourced, {source: (None, pages, dict(page_metadata))}, keyed=False)


def write_documents(
    folder: Path,
    questions: Sequence[SourcedQuestion],
    documents: Mapping[str, tuple[str | None, Mapping[int, str]]],
) -> None:
    """Like :func:`write` for a set over several files: ``documents`` maps a source file
    name to ``(title the extractor found or None, {page: text})``."""
    for source in {q[3] for q in questions} - set(documents):
        raise SystemExit(f"questions name {source!r}, which is not among the documents")
    for source, (_, pages) in documents.items():
        check([(q[0], q[1], q[2], q[4]) for q in questions if q[3] == source], pages)
    ids = [q[0] for q in questions]
    if len(set(ids)) != len(ids):
        raise SystemExit("question ids are not unique")
    keys = [Path(source).stem for source in documents]
    if len(set(keys)) != len(keys):
        raise SystemExit("two documents share a file stem")
    full = {s: (title, pages, {"source": s}) for s, (title, pages) in documents.items()}
    _write_files(folder, questions, full, keyed=True)


def _write_files(
    folder: Path,
    questions: Sequence[SourcedQuestion],
    documents: Mapping[str, tuple[str | None, Mapping[int, str], Mapping[str, object]]],
    *,
    keyed: bool,
) -> None:
    def key(source: str) -> str | None:
        return Path(source).stem if keyed else None

    pages_total = 0
    with (folder / "corpus.jsonl").open("w", encoding="utf-8") as out:
        for source, (title, pages, extra) in documents.items():
            for number, text in sorted(pages.items()):
                metadata = {"page": number, **extra, **({"title": title} if title else {})}
                row = {"_id": page_id(key(source), number), "title": "", "text": text}
                out.write(json.dumps({**row, "metadata": metadata}, ensure_ascii=False) + "\n")
                pages_total += 1
    with (folder / "queries.jsonl").open("w", encoding="utf-8") as out:
        for qid, question, phrase, source, relevant in questions:
            metadata = {
                "answer": phrase,
                "source": source,
                "pages": list(relevant),
                "split": split_of(folder.name, qid),
            }
            row = {"_id": qid, "text": question, "metadata": metadata}
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    (folder / "qrels").mkdir(exist_ok=True)
    with (folder / "qrels" / "test.tsv").open("w", encoding="utf-8") as out:
        out.write("query-id\tcorpus-id\tscore\n")
        for qid, _, _, source, relevant in questions:
            for page, grade in relevant.items():
                out.write(f"{qid}\t{page_id(key(source), page)}\t{grade}\n")
    splits = [split_of(folder.name, q[0]) for q in questions]
    print(
        f"{pages_total} pages, {len(questions)} queries ({splits.count('tune')} tune, "
        f"{splits.count('heldout')} held out) written to {folder}"
    )
