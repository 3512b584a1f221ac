"""Which document vector retrieves the right document: the mean of its chunks or title+abstract?

Issue 13 item 4 asks for one vector per document and a measurement of the candidates on
the labelled sets. For every labelled question of datasets/ (BEIR format; each question
names the file that answers it in ``metadata.source``), the documents are ranked by the
cosine of the question's vector to each document vector; the document holding the answer
should rank first. Candidates:

* ``mean``: the normalised mean of the document's chunk vectors (what
  ``document_vectors`` stores; computed in SQL exactly as the library does);
* ``title+abstract``: title + abstract embedded (metadata title/abstract when present,
  else the title and the first chunk, as issue 13 suggests);
* ``both``: the normalised sum of the two (for reference).

Every set is indexed into a scratch domain of a private embedded PostgreSQL through the
real ``index_document`` path; the four sets are then pooled (13 documents, every one a
distractor for the others' questions) and each set is also scored on its own where it
has more than one document. Run: ``.venv/bin/python benchmarks/bench_doc_vectors.py``.
"""

from __future__ import annotations

import sys
from contextlib import ExitStack
from pathlib import Path

import numpy as np
from _services import private_database

from tidyllm import UnifiedSessionManager
from tidyllm.knowledge.evaluation import PREFIX, find_datasets, indexed

DATASETS = Path(__file__).resolve().parents[1] / "datasets"


def _unit(m: np.ndarray) -> np.ndarray:
    return m / np.maximum(np.linalg.norm(m, axis=1, keepdims=True), 1e-12)


def _vectors(sm, domain: str) -> tuple[list[str], dict[str, np.ndarray]]:
    """(source names, kind -> matrix) for the documents of one scratch domain."""
    with sm.connection() as conn:
        rows = conn.execute(
            "SELECT doc.source_uri, doc.title, v.embedding, m.abstract, "
            "(SELECT text FROM chunks c WHERE c.document_id = doc.id ORDER BY ordinal LIMIT 1) "
            "FROM documents doc JOIN domains d ON d.id = doc.domain_id "
            "JOIN document_vectors v ON v.document_id = doc.id "
            "LEFT JOIN document_metadata m ON m.document_id = doc.id "
            "WHERE d.name = %s ORDER BY doc.id",
            (domain,),
        ).fetchall()
    names = [r[0][len(PREFIX) :] for r in rows]
    mean = _unit(np.array([r[2].to_numpy() for r in rows], dtype=np.float32))
    texts = [f"{r[1] or ''}\n{r[3] if r[3] else r[4]}".strip() for r in rows]
    titled = _unit(np.asarray(sm.embedder().embed(texts), dtype=np.float32))
    return names, {"mean": mean, "title+abstract": titled, "both": _unit(mean + titled)}


def _score(
    names: list[str], kinds: dict[str, np.ndarray], queries: list[tuple[str, str]], sm
) -> dict[str, tuple[float, float, int]]:
    """kind -> (hit@1, MRR, questions) over questions whose answering file is indexed."""
    asked = [(q, src) for q, src in queries if src in names]
    if not asked:
        return {}
    qv = _unit(np.asarray(sm.embedder().embed([q for q, _ in asked]), dtype=np.float32))
    out = {}
    for kind, matrix in kinds.items():
        sims = qv @ matrix.T
        ranks = []
        for row, (_, src) in zip(sims, asked, strict=True):
            order = np.argsort(-row, kind="stable")
            ranks.append(1 + int(np.where(order == names.index(src))[0][0]))
        ranks_a = np.array(ranks)
        out[kind] = (float(np.mean(ranks_a == 1)), float(np.mean(1 / ranks_a)), len(asked))
    return out


def main(argv: list[str]) -> None:
    folders = [Path(a) for a in argv] or find_datasets(DATASETS)
    table = ["| set | documents | questions | vector | hit@1 | MRR |", "|---|---|---|---|---|---|"]
    with (
        private_database("bench-docvec-") as (root, url),
        UnifiedSessionManager(data_dir=root / "data", database={"url": url}) as sm,
        ExitStack() as stack,
    ):
        pooled_names: list[str] = []
        pooled: dict[str, list[np.ndarray]] = {}
        pooled_queries: list[tuple[str, str]] = []
        for folder in folders:
            print(f"indexing {folder.name}", file=sys.stderr, flush=True)
            target = stack.enter_context(indexed(sm, folder))
            names, kinds = _vectors(sm, target.domain)
            queries = [
                (text, target.data.query_metadata.get(qid, {}).get("source"))
                for qid, text in target.data.queries.items()
            ]
            queries = [(q, s) for q, s in queries if isinstance(s, str)]
            pooled_names += names
            for kind, matrix in kinds.items():
                pooled.setdefault(kind, []).append(matrix)
            pooled_queries += queries
            if len(names) > 1:
                for kind, (h1, mrr, n) in _score(names, kinds, queries, sm).items():
                    table.append(
                        f"| {folder.name} | {len(names)} | {n} | {kind} | {h1:.3f} | {mrr:.3f} |"
                    )
        kinds = {k: np.vstack(v) for k, v in pooled.items()}
        for kind, (h1, mrr, n) in _score(pooled_names, kinds, pooled_queries, sm).items():
            table.append(
                f"| all sets pooled | {len(pooled_names)} | {n} | {kind} | {h1:.3f} | {mrr:.3f} |"
            )
    print("\n".join(table))


if __name__ == "__main__":
    main(sys.argv[1:])
