"""Search API under load: concurrent clients against ``tidyllm serve`` over >= 100,000 chunks.

    python benchmarks/bench_api_search_load.py [--chunks 100000] [--clients 20] [--seconds 60]
                                               [--keep DIR] [--pool-max N]

Issue 11's target: 20 concurrent clients for 60 s, p99 < 150 ms, 0 errors, and the API's
overhead over the library call < 5 ms at p50.

THE CORPUS, exactly: the ten model-validation PDFs of ``../shared/corpus/legacy-kb`` (the
documents of the ``datasets/model-validation`` question set) are ingested with the real
pipeline (``tidyllm.knowledge.ingest``: drop-zone ledger, extraction, chunking with title
and heading context, abbreviation aliases, MiniLM embeddings). Embedding 100,000 chunks
would take 1.5 to 3.5 hours on this shared 2-core machine (8-18 chunks/s measured; the rate
is printed), so the domain is then GROWN to ``--chunks`` by SYNTHETIC COPIES: every real
chunk is copied into distinct documents ``synthetic://copy-NNN/<source>`` (same text,
context, pages), each copied embedding perturbed by Gaussian noise (sigma 0.01 per
dimension, cosine ~0.98 to the original) and renormalised, so the HNSW graph is not full of
exact duplicates. The copies are inserted through the ``chunks`` table (one COPY), so the
BM25 statistics triggers run and the domain's term statistics stay exact (checked after
loading). Consequences: each text occurs ~N times, so the full-text leg has N-fold document
frequencies and ties, and dense neighbours come in near-duplicate groups; the latency of
both legs is realistic for this size, retrieval quality is not measured here
(``bench_knowledge_quality``).

QUERIES: the 72 real questions of ``datasets/model-validation/queries.jsonl``, cycled by
the clients (each client starts at a different question). Every request embeds its query
(the server has no query cache), hybrid mode, k=10.

LOAD: ``--clients`` threads, each with its own keep-alive ``httpx.Client``, sending
``POST /api/v1/domains/<d>/search`` back to back for ``--seconds`` against a real
``tidyllm serve --no-worker`` process (default settings: one uvicorn process, database
pool_max 10), authenticated with the bearer token of a viewer granted the domain.
Recorded per request: latency (client side, request sent to body read), status.

BASELINE in the same run: the library's ``search()`` in this process, as that viewer
(same grant check), with the same number of threads, seconds and questions; and both again
with one sequential client. API overhead = API p50 - library p50 at the same concurrency.
On 2 cores the load generator, the server and PostgreSQL share the CPU: with 20 clients
the latency is mostly queueing for the cores (the query embedding is ~CPU-bound), and the
client threads' own CPU time is counted against the API; and the library run's 20 threads
share one process (one GIL) where the API run has two, so at 20 clients API p50 - library
p50 says more about scheduling than about HTTP. Three measures of the overhead are printed:
the sequential pair; a paired run (one client alternating an API and a library call on the
same question, the difference taken per pair, robust to background load that changes over
seconds); and the CPU time per request (this process, the server's processes and
PostgreSQL's, read with psutil), which also gives the bound Little's law puts on latency:
``clients x CPU per request / cores``.

``--keep DIR`` keeps the PostgreSQL folder and the built domain in DIR and reuses them on
the next run with the same ``--chunks``. ``--pool-max N`` sets ``database.pool_max`` for
the server and the library run (default: the settings' default, 10).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

import httpx
import numpy as np
import psutil
import psycopg
from _services import EmbeddedPostgres, private_database, start_server, stop_server
from pgvector import HalfVector
from psycopg.types.json import Jsonb

from tidyllm import UnifiedSessionManager
from tidyllm.access import add_grant, add_user, authenticate_token, create_token
from tidyllm.knowledge import create_domain
from tidyllm.knowledge.ingest import ingest
from tidyllm.knowledge.search import search

ROOT = Path(__file__).resolve().parents[1]
DATASET = ROOT / "datasets" / "model-validation"
LEGACY_KB = ROOT.parent / "shared" / "corpus" / "legacy-kb"
DOMAIN = "loadtest"
USER = "loadviewer"
PASSWORD = "load test password, not a secret"  # noqa: S105 - a throw-away user
NOISE = 0.01
K = 10
INDEX_SQL = (
    "CREATE INDEX chunks_embedding_384_idx ON chunks "
    "USING hnsw ((embedding::halfvec(384)) halfvec_cosine_ops) WHERE dimension = 384"
)
CHUNK_COLUMNS = (
    "ordinal, page, start_char, end_char, heading, token_count, text, metadata, dimension, "
    "embedding, language, context, aliases"
)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- corpus


def sources() -> list[Path]:
    """The legacy-kb PDFs that the model-validation question set covers."""
    names = {
        json.loads(line)["metadata"]["source"]
        for line in (DATASET / "corpus.jsonl").read_text().splitlines()
        if line.strip()
    }
    return sorted(LEGACY_KB / n for n in names)


def questions() -> list[str]:
    rows = (DATASET / "queries.jsonl").read_text().splitlines()
    return [json.loads(r)["text"] for r in rows if r.strip()]


def ingest_real(sm) -> int:
    """The real pipeline over the ten PDFs; returns the number of chunks."""
    create_domain(sm, DOMAIN, description="API load benchmark (real + synthetic copies)")
    started = time.perf_counter()
    report = ingest(sm, DOMAIN, [str(p) for p in sources()], track=False)
    seconds = time.perf_counter() - started
    failed = [i for i in report.items if i.state != "done"]
    if failed:
        raise SystemExit(f"ingest failed: {failed}")
    chunks = sum(i.chunks for i in report.items)
    with sm.connection() as conn:
        texts = [r[0] for r in conn.execute("SELECT text FROM chunks ORDER BY id LIMIT 256")]
    sm.embedder().embed(texts[:8])
    embed_started = time.perf_counter()
    sm.embedder().embed(texts)
    rate = len(texts) / (time.perf_counter() - embed_started)
    log(f"embedder alone: {rate:.0f} chunks/s ({100_000 / rate / 60:.0f} min for 100,000 chunks)")
    log(
        f"ingested {len(report.items)} PDFs -> {chunks} real chunks in {seconds:.0f}s "
        f"({chunks / seconds:.1f} chunks/s end to end, extraction + embedding); "
        f"{100_000 / (chunks / seconds) / 60:.0f} min for 100,000 at that rate"
    )
    return chunks


def grow(sm, target: int, rng: np.random.Generator) -> None:
    """Copy the real chunks into synthetic documents until the domain has ``target`` chunks."""
    with sm.connection() as conn:
        domain_id = conn.execute("SELECT id FROM domains WHERE name = %s", (DOMAIN,)).fetchone()[0]
        docs = conn.execute(
            "SELECT id, source_uri, title, mime, page_count, chunk_count, content_hash "
            "FROM documents WHERE domain_id = %s ORDER BY id",
            (domain_id,),
        ).fetchall()
        base = {
            doc[0]: conn.execute(
                f"SELECT {CHUNK_COLUMNS} FROM chunks WHERE document_id = %s ORDER BY ordinal",  # noqa: S608
                (doc[0],),
            ).fetchall()
            for doc in docs
        }
        real = sum(len(rows) for rows in base.values())
        copies = -(-(target - real) // real) if target > real else 0
        if not copies:
            return
        started = time.perf_counter()
        new_docs = []
        for c in range(1, copies + 1):
            for doc_id, uri, title, mime, pages, count, digest in docs:
                new_id = conn.execute(
                    "INSERT INTO documents (domain_id, source_uri, version, content_hash, title, "
                    "mime, page_count, chunk_count) VALUES (%s, %s, '1', %s, %s, %s, %s, %s) "
                    "RETURNING id",
                    (
                        domain_id,
                        f"synthetic://copy-{c:03d}/{uri.rsplit('/', 1)[-1]}",
                        f"{digest}-copy{c}",
                        f"{title or ''} (copy {c})",
                        mime,
                        pages,
                        count,
                    ),
                ).fetchone()[0]
                new_docs.append((new_id, doc_id))
        missing = target - real
        conn.execute("DROP INDEX chunks_embedding_384_idx")
        written = 0
        with (
            conn.cursor() as cur,
            cur.copy(f"COPY chunks (domain_id, document_id, {CHUNK_COLUMNS}) FROM STDIN") as copy,
        ):
            for new_id, doc_id in new_docs:
                rows = base[doc_id][: missing - written]
                if not rows:
                    break
                vectors = np.stack([r[9].to_numpy().astype(np.float32) for r in rows])
                vectors += rng.normal(scale=NOISE, size=vectors.shape).astype(np.float32)
                vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
                for row, vector in zip(rows, vectors, strict=True):
                    values = list(row)
                    values[7] = Jsonb(values[7])
                    values[9] = HalfVector(vector)
                    copy.write_row((domain_id, new_id, *values))
                written += len(rows)
        # documents whose copy was cut short by the target: their chunk_count is what they hold
        conn.execute(
            "UPDATE documents d SET chunk_count = (SELECT count(*) FROM chunks c "
            "WHERE c.document_id = d.id) WHERE d.domain_id = %s AND d.source_uri LIKE "
            "'synthetic://%%'",
            (domain_id,),
        )
        conn.execute("DELETE FROM documents WHERE domain_id = %s AND chunk_count = 0", (domain_id,))
        conn.commit()
        log(f"copied {written} chunks in {time.perf_counter() - started:.0f}s (triggers included)")
        started = time.perf_counter()
        conn.execute("SET maintenance_work_mem = '1GB'")
        conn.execute(INDEX_SQL)
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE chunks")
        conn.execute("VACUUM ANALYZE lexeme_stats")
        conn.autocommit = False
        log(f"HNSW index built and VACUUM ANALYZE in {time.perf_counter() - started:.0f}s")


def check_statistics(sm) -> tuple[int, int]:
    """(chunks, documents) of the domain, after checking the BM25 statistics match them."""
    with sm.connection() as conn:
        domain_id = conn.execute("SELECT id FROM domains WHERE name = %s", (DOMAIN,)).fetchone()[0]
        chunks, tokens = conn.execute(
            "SELECT count(*), coalesce(sum(tsv_length), 0) FROM chunks WHERE domain_id = %s",
            (domain_id,),
        ).fetchone()
        documents = conn.execute(
            "SELECT count(*) FROM documents WHERE domain_id = %s", (domain_id,)
        ).fetchone()[0]
        stats = conn.execute(
            "SELECT chunks, tokens FROM domain_text_stats WHERE domain_id = %s", (domain_id,)
        ).fetchone()
        bad_lexemes = conn.execute(
            "SELECT count(*) FROM (SELECT u.lexeme, count(*) AS n FROM chunks c, unnest(c.tsv) u "
            "WHERE c.domain_id = %(d)s GROUP BY u.lexeme) t FULL JOIN "
            "(SELECT lexeme, chunks FROM lexeme_stats WHERE domain_id = %(d)s) s "
            "ON s.lexeme = t.lexeme WHERE s.chunks IS DISTINCT FROM t.n",
            {"d": domain_id},
        ).fetchone()[0]
    if tuple(stats) != (chunks, tokens) or bad_lexemes:
        raise SystemExit(
            f"BM25 statistics are wrong: {stats} vs ({chunks}, {tokens}); "
            f"{bad_lexemes} lexeme counts differ"
        )
    return chunks, documents


# ---------------------------------------------------------------- load


class Recorder:
    """Per-request (latency seconds, ok) of one phase, from many threads."""

    def __init__(self) -> None:
        self.samples: list[tuple[float, bool]] = []
        self.failures: dict[str, int] = {}
        self.lock = threading.Lock()

    def add(self, seconds: float, ok: bool, why: str = "") -> None:
        with self.lock:
            self.samples.append((seconds, ok))
            if not ok:
                self.failures[why] = self.failures.get(why, 0) + 1


class CpuMeter:
    """CPU seconds used by this process, the server's processes and PostgreSQL's.

    On a machine shared with other work, wall-clock latency depends on everyone's load;
    CPU time per request does much less, and bounds what 2 cores can serve.
    """

    def __init__(self, pgdata: Path) -> None:
        self.pgdata = pgdata
        self.server: psutil.Process | None = None

    @staticmethod
    def _tree(root: psutil.Process | None) -> float:
        if root is None:
            return 0.0
        total = 0.0
        for proc in [root, *root.children(recursive=True)]:
            try:
                times = proc.cpu_times()
                total += times.user + times.system
            except psutil.NoSuchProcess:
                pass
        return total

    def read(self) -> tuple[float, float, float]:
        """(this process, server, PostgreSQL) CPU seconds so far."""
        postmaster = int((self.pgdata / "postmaster.pid").read_text().split()[0])
        return (
            self._tree(psutil.Process()) - self._tree(self.server),
            self._tree(self.server),
            self._tree(psutil.Process(postmaster)),
        )


def run_load(
    clients: int, seconds: float, make_call: Callable[[], Callable[[str], str]], queries
) -> tuple[Recorder, float]:
    """``clients`` threads calling back to back for ``seconds``; (recorder, wall seconds).

    ``make_call`` runs once per thread and returns the call: query -> "" (ok) or an error.
    """
    recorder = Recorder()
    deadline: list[float] = [0.0]
    # the clock starts when every client has built its connection (set by the last to arrive)
    ready = threading.Barrier(
        clients + 1, action=lambda: deadline.__setitem__(0, time.perf_counter() + seconds)
    )

    def client(number: int) -> None:
        call = make_call()
        i = number * len(queries) // clients
        ready.wait()
        while time.perf_counter() < deadline[0]:
            query = queries[i % len(queries)]
            i += 1
            started = time.perf_counter()
            try:
                why = call(query)
            except Exception as exc:  # every failure is an error sample
                why = f"{type(exc).__name__}: {exc}"[:120]
            recorder.add(time.perf_counter() - started, not why, why)

    threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(clients)]
    for t in threads:
        t.start()
    ready.wait()
    started = deadline[0] - seconds
    for t in threads:
        t.join()
    return recorder, time.perf_counter() - started


def pct(ms: list[float], q: float) -> float:
    return ms[min(len(ms) - 1, max(0, round(q * (len(ms) - 1))))]


def measured(
    meter: CpuMeter, clients: int, seconds: float, make_call, queries
) -> tuple[Recorder, float, tuple[float, ...]]:
    before = meter.read()
    recorder, wall = run_load(clients, seconds, make_call, queries)
    after = meter.read()
    return recorder, wall, tuple(b - a for a, b in zip(before, after, strict=True))


def summary(
    label: str, recorder: Recorder, wall: float, cpu: tuple[float, ...]
) -> dict[str, float]:
    ms = sorted(s * 1000 for s, _ in recorder.samples)
    errors = sum(1 for _, ok in recorder.samples if not ok)
    out = {
        "n": len(ms),
        "p50": statistics.median(ms),
        "p95": pct(ms, 0.95),
        "p99": pct(ms, 0.99),
        "max": ms[-1],
        "errors": errors,
        "rps": len(ms) / wall,
        "cpu": 1000 * sum(cpu) / max(1, len(ms)),
    }
    print(
        f"{label:<34} {out['n']:>6} req {out['rps']:>6.1f}/s  p50 {out['p50']:6.1f}  "
        f"p95 {out['p95']:6.1f}  p99 {out['p99']:6.1f}  max {out['max']:7.1f} ms  "
        f"errors {errors}"
    )
    this, server, postgres = (1000 * c / max(1, len(ms)) for c in cpu)
    print(
        f"    CPU per request {out['cpu']:.1f} ms: this process {this:.1f}, "
        f"server {server:.1f}, PostgreSQL {postgres:.1f}"
    )
    for why, count in sorted(recorder.failures.items(), key=lambda kv: -kv[1])[:5]:
        print(f"    {count} x {why}")
    return out


def api_call(url: str, token: str) -> Callable[[], Callable[[str], str]]:
    def make() -> Callable[[str], str]:
        http = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=60)
        http.get("/healthz")  # open the keep-alive connection before the clock starts

        def call(query: str) -> str:
            response = http.post(f"/api/v1/domains/{DOMAIN}/search", json={"query": query, "k": K})
            if response.status_code != 200:
                return f"HTTP {response.status_code}: {response.text[:80]}"
            hits = response.json()["hits"]
            return "" if len(hits) == K else f"{len(hits)} hits instead of {K}"

        return call

    return make


def library_call(sm, actor, timings: list[tuple[float, float]]) -> Callable[[], Callable]:
    def make() -> Callable[[str], str]:
        def call(query: str) -> str:
            result = search(sm, DOMAIN, query, k=K, actor=actor)
            timings.append((result.timings["embed"], result.timings["retrieve"]))
            return "" if len(result.hits) == K else f"{len(result.hits)} hits instead of {K}"

        return call

    return make


def split(timings: list[tuple[float, float]]) -> str:
    embed = statistics.median(t[0] for t in timings) * 1000
    retrieve = statistics.median(t[1] for t in timings) * 1000
    return f"    (library p50 parts: embed query {embed:.1f} ms, SQL {retrieve:.1f} ms)"


def paired(seconds: float, api: Callable[[str], str], library: Callable[[str], str], queries):
    """One client alternating an API call and a library call on the same question (the
    order flips each time): the per-pair difference is robust to background load that
    changes over seconds, which skews two separate runs."""
    api_ms, lib_ms, diffs = [], [], []
    deadline = time.perf_counter() + seconds
    i = 0
    while time.perf_counter() < deadline:
        query = queries[i % len(queries)]
        took = {}
        for name, call in (("api", api), ("lib", library))[:: 1 if i % 2 else -1]:
            started = time.perf_counter()
            if why := call(query):
                raise SystemExit(f"{name} failed in the paired run: {why}")
            took[name] = (time.perf_counter() - started) * 1000
        api_ms.append(took["api"])
        lib_ms.append(took["lib"])
        diffs.append(took["api"] - took["lib"])
        i += 1
    diffs.sort()
    print(
        f"paired, 1 client, {i} questions each way: API p50 {statistics.median(api_ms):.1f} ms, "
        f"library p50 {statistics.median(lib_ms):.1f} ms; API - library per pair: "
        f"p50 {statistics.median(diffs):.1f} ms (< 5: "
        f"{'ok' if statistics.median(diffs) < 5 else 'MISSES target'}), "
        f"p25 {pct(diffs, 0.25):.1f}, p75 {pct(diffs, 0.75):.1f}"
    )


# ---------------------------------------------------------------- main


def database(stack: ExitStack, keep: Path | None) -> tuple[Path, str]:
    """(root, url): the PostgreSQL server's data is under root/pg/pgdata."""
    if keep is None:
        return stack.enter_context(private_database("bench-api-load-"))
    keep.mkdir(parents=True, exist_ok=True)
    server = EmbeddedPostgres(keep / "pg")
    server.start()
    stack.callback(server.stop)
    with psycopg.connect(server.url, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = 'apiload'").fetchone():
            conn.execute("CREATE DATABASE apiload")
    return keep, server.url.replace("/postgres?", "/apiload?")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds, not recorded")
    parser.add_argument("--keep", type=Path, help="keep and reuse the built database here")
    parser.add_argument(
        "--pool-max", type=int, help="database.pool_max of the server and the library run"
    )
    args = parser.parse_args()
    os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")
    database_settings = {}
    if args.pool_max:  # the server inherits the environment
        os.environ["TIDYLLM_DATABASE__POOL_MAX"] = str(args.pool_max)
        database_settings["pool_max"] = args.pool_max
    rng = np.random.default_rng(11)
    queries = questions()
    with ExitStack() as stack:
        root, url = database(stack, args.keep)
        sm = stack.enter_context(
            UnifiedSessionManager(
                data_dir=root / "data", database={"url": url, **database_settings}
            )
        )
        with sm.connection() as conn:
            built = conn.execute(
                "SELECT count(*) FROM chunks c JOIN domains d ON d.id = c.domain_id "
                "WHERE d.name = %s",
                (DOMAIN,),
            ).fetchone()[0]
        if built == 0:
            ingest_real(sm)
            grow(sm, args.chunks, rng)
            add_user(sm, USER, "viewer", PASSWORD)
            add_grant(sm, DOMAIN, user=USER, role="viewer")
        elif built != args.chunks:
            raise SystemExit(f"{args.keep} holds {built} chunks, not {args.chunks}: use another")
        chunks, documents = check_statistics(sm)
        token = create_token(sm, USER, f"load-{time.time():.0f}").secret
        actor = authenticate_token(sm, token)

        server = start_server(root / "serve", url, "--no-worker")
        stack.callback(stop_server, server)
        meter = CpuMeter(root / "pg" / "pgdata")
        meter.server = psutil.Process(server.process.pid)
        log(f"tidyllm serve --no-worker at {server.url}")

        # warm up both paths (model loads, caches), not recorded
        run_load(args.clients, args.warmup, api_call(server.url, token), queries)
        run_load(args.clients, args.warmup, library_call(sm, actor, []), queries)

        print(
            f"\n{chunks} chunks in {documents} documents (real legacy-kb chunks + synthetic "
            f"copies), {len(queries)} real questions cycled, hybrid k={K}, "
            f"{args.seconds:.0f} s per row, {len(os.sched_getaffinity(0))} cores shared by "
            f"client, server "
            f"and PostgreSQL\n"
        )
        rows = {}
        for clients in dict.fromkeys((args.clients, 1)):
            lib_timings: list[tuple[float, float]] = []
            rows["api", clients] = summary(
                f"API, {clients} client(s)",
                *measured(meter, clients, args.seconds, api_call(server.url, token), queries),
            )
            library = library_call(sm, actor, lib_timings)
            sm.db().pop_stats()
            rows["lib", clients] = summary(
                f"library search(), {clients} thread(s)",
                *measured(meter, clients, args.seconds, library, queries),
            )
            print(split(lib_timings))
            pool = sm.db().pop_stats()
            asked = max(1, pool.get("requests_num", 0))
            print(
                f"    (library connection pool, max {sm.settings.database.pool_max}: "
                f"{pool.get('requests_queued', 0) / asked:.0%} of {asked} connection requests "
                f"waited, {pool.get('requests_wait_ms', 0) / asked:.1f} ms per request on average)"
            )
        paired(
            args.seconds / 2, api_call(server.url, token)(), library_call(sm, actor, [])(), queries
        )
        print()
        api, lib = rows["api", args.clients], rows["lib", args.clients]
        ok = api["p99"] < 150 and api["errors"] == 0
        print(
            f"target at {args.clients} clients: p99 {api['p99']:.1f} ms < 150, errors "
            f"{api['errors']} = 0: {'ok' if ok else 'MISSES target'}"
        )
        cores = len(os.sched_getaffinity(0))
        bound = args.clients * api["cpu"] / cores
        print(
            f"  CPU bound: {api['cpu']:.1f} ms of CPU per API request on {cores} cores serves "
            f"at most {1000 * cores / api['cpu']:.0f} req/s; {args.clients} clients that "
            f"never pause then wait >= {bound:.0f} ms on average (Little's law), with "
            f"the machine to ourselves"
        )
        for clients in dict.fromkeys((args.clients, 1)):
            api, lib = rows["api", clients], rows["lib", clients]
            overhead = api["p50"] - lib["p50"]
            print(
                f"API overhead at p50, {clients} client(s): {api['p50']:.1f} - "
                f"{lib['p50']:.1f} = {overhead:.1f} ms (< 5: "
                f"{'ok' if overhead < 5 else 'MISSES target'}); throughput API/library "
                f"{api['rps'] / lib['rps']:.2f}; CPU per request API - library "
                f"{api['cpu'] - lib['cpu']:.1f} ms"
            )


if __name__ == "__main__":
    main()
