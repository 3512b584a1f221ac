"""`tidyllm docs list` with metadata filters over 100,000 documents: p50 of the library call.

Issue 13 asks for p50 < 20 ms. A private embedded PostgreSQL gets one domain of 100,000
documents with merged metadata rows generated directly in SQL (years 1990-2024, 0-3 of
40 tags, 1-4 of 2,000 authors, a DOI each, every 10th an arXiv id) and two collections
(1% and 10% of the documents). Each case calls
:func:`tidyllm.knowledge.catalog.list_catalog` (a page of 50, through the connection
pool, as the CLI does) ``REPEAT`` times; the baseline, measured in the same run, is the
unfiltered :func:`tidyllm.knowledge.documents.list_documents` page (what ``docs`` lists
without metadata), so the ratio says what metadata and filters cost on this machine.

Run: ``.venv/bin/python benchmarks/bench_docs_list.py [DOCUMENTS] [--no-vacuum]
[--fastupdate-off]``.
"""

from __future__ import annotations

import statistics
import sys
import time

from _services import private_database

from tidyllm import UnifiedSessionManager
from tidyllm.knowledge import create_domain
from tidyllm.knowledge.catalog import document_filter, list_catalog
from tidyllm.knowledge.documents import list_documents

REPEAT = 60
NO_VACUUM = "--no-vacuum" in sys.argv
FASTUPDATE_OFF = "--fastupdate-off" in sys.argv
TAGS = 40
AUTHORS = 2000

_FILL = """
SELECT setseed(0.42);
INSERT INTO documents (domain_id, source_uri, version, content_hash, title)
SELECT %(domain)s, 'mem://bench/' || g, '1', md5(g::text), 'Paper number ' || g
FROM generate_series(1, %(n)s) g;
CREATE TEMP TABLE gen AS
SELECT d.id,
       1990 + abs(hashtext(d.id || 'y')) %% 35 AS year,
       (SELECT coalesce(array_agg(DISTINCT 'tag' || abs(hashtext(d.id || 't' || i)) %% %(tags)s),
                        '{}')
        FROM generate_series(1, abs(hashtext(d.id || 'n')) %% 4) i) AS tags,
       (SELECT array_agg('Author' || abs(hashtext(d.id || 'a' || i)) %% %(authors)s
                         || ' Surname')
        FROM generate_series(1, 1 + abs(hashtext(d.id || 'm')) %% 4) i) AS authors
FROM documents d WHERE d.domain_id = %(domain)s;
INSERT INTO document_metadata (document_id, domain_id, title, authors, year, doi, arxiv_id,
                               tags, authors_text, provenance)
SELECT id, %(domain)s, 'Paper number ' || id, authors, year, '10.5555/bench.' || id,
       CASE WHEN id %% 10 = 0 THEN '2401.' || lpad(id::text, 6, '0') END, tags,
       lower(array_to_string(authors, E'\\n')), '{"title": "extracted"}'
FROM gen;
INSERT INTO collections (domain_id, name) VALUES (%(domain)s, 'one-percent'),
                                                 (%(domain)s, 'ten-percent');
INSERT INTO collection_documents (collection_id, document_id)
SELECT c.id, g.id FROM gen g, collections c
WHERE (c.name = 'one-percent' AND g.id %% 100 = 7) OR (c.name = 'ten-percent' AND g.id %% 10 = 3);
"""


def _p(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _time(call) -> tuple[float, float, int]:
    call()  # warm: plans, pool
    samples = []
    count = 0
    for _ in range(REPEAT):
        started = time.perf_counter()
        count = call()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples), _p(samples, 0.95), count


def main(n: int) -> None:
    with (
        private_database("tidyllm-bench-docs-") as (root, url),
        UnifiedSessionManager(data_dir=str(root / "data"), database={"url": url}) as sm,
    ):
        create_domain(sm, "bench")
        started = time.perf_counter()
        with sm.connection() as conn:
            domain = conn.execute("SELECT id FROM domains WHERE name = 'bench'").fetchone()[0]
            if FASTUPDATE_OFF:  # the GIN indexes without a pending list
                for index in ("document_metadata_tags", "document_metadata_authors"):
                    conn.execute(f"ALTER INDEX {index} SET (fastupdate = off)")
            params = {"domain": domain, "n": n, "tags": TAGS, "authors": AUTHORS}
            for statement in _FILL.split(";\n"):
                if statement.strip():
                    conn.execute(statement, params)
        with sm.connection() as conn:
            # the steady state autovacuum keeps: statistics, GIN pending lists merged
            # (--no-vacuum: right after the bulk load, the GIN indexes' pending lists
            # are scanned by every tag or author query)
            conn.autocommit = True
            for table in ("documents", "document_metadata", "collection_documents"):
                conn.execute(f"{'ANALYZE' if NO_VACUUM else 'VACUUM ANALYZE'} {table}")
            conn.autocommit = False
            some_id = conn.execute(
                "SELECT max(document_id) FROM document_metadata WHERE arxiv_id IS NOT NULL"
            ).fetchone()[0]
        print(f"{n} documents with metadata generated in {time.perf_counter() - started:.1f}s")
        base, base95, _ = _time(lambda: len(list_documents(sm, "bench", limit=50).documents))
        cases = {
            "no filter": None,
            "--year 2020..2024": document_filter(years="2020..2024"),
            "--tag tag7": document_filter(tags=["tag7"]),
            "--tag tag7 --tag tag8": document_filter(tags=["tag7", "tag8"]),
            "--author author17 (substring)": document_filter(author="author17 "),
            "--author surname (every one)": document_filter(author="surname"),
            "--collection one-percent": document_filter(collection="one-percent"),
            "--collection ten-percent --year 2000..2004 --tag tag3": document_filter(
                collection="ten-percent", years="2000..2004", tags=["tag3"]
            ),
            "--collection one-percent --year 2010.. --tag tag1": document_filter(
                collection="one-percent", years="2010..", tags=["tag1"]
            ),
            "--id doi:10.5555/BENCH.12345": document_filter(identifier="doi:10.5555/BENCH.12345"),
            f"--id arxiv:2401.{some_id:06d}": document_filter(
                identifier=f"arxiv:2401.{some_id:06d}"
            ),
            "--year 1990 --tag tag39 --author author1999 (none)": document_filter(
                years="1990", tags=["tag39"], author="author1999 "
            ),
        }
        print(
            f"\nbaseline list_documents (no metadata), page of 50: p50 {base:.2f} ms, "
            f"p95 {base95:.2f} ms\n"
        )
        print(f"{'case':58} {'rows':>5} {'p50 ms':>8} {'p95 ms':>8} {'x base':>7}")
        worst = 0.0
        for label, where in cases.items():
            p50, p95, rows = _time(
                lambda w=where: len(list_catalog(sm, "bench", where=w, limit=50).documents)
            )
            worst = max(worst, p50)
            print(f"{label:58} {rows:5d} {p50:8.2f} {p95:8.2f} {p50 / base:7.2f}")
        # the second page of a broad filter (keyset: as fast as the first)
        first = list_catalog(sm, "bench", where=cases["--year 2020..2024"], limit=50)
        p50, p95, rows = _time(
            lambda: len(
                list_catalog(
                    sm,
                    "bench",
                    where=cases["--year 2020..2024"],
                    limit=50,
                    cursor=first.next_cursor,
                ).documents
            )
        )
        worst = max(worst, p50)
        print(f"{'--year 2020..2024, page 2':58} {rows:5d} {p50:8.2f} {p95:8.2f} {p50 / base:7.2f}")
        print(f"\nworst p50 {worst:.2f} ms (target < 20 ms): {'PASS' if worst < 20 else 'FAIL'}")


if __name__ == "__main__":
    numbers = [a for a in sys.argv[1:] if a.isdigit()]
    main(int(numbers[0]) if numbers else 100_000)
