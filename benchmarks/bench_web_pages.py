"""Web UI page handlers: p50/p95 of every page and fragment, against ``/healthz``, in one run.

    python benchmarks/bench_web_pages.py [--n 50] [--docs 3]

Issue 12: "Every page's server-side handler returns in < 200 ms p50 on embedded
defaults (benchmark, not a test)."

One private embedded PostgreSQL and a real ``tidyllm serve`` on it, default settings
(embedded everything, its background worker on). A realistic domain ``fed``: the Fed's
model-validation report and ``--docs - 1`` more real documents of ../shared/corpus
(legacy-kb: its README and the smallest PDFs first), uploaded over HTTP and taken to
``done`` by the server's own worker (extraction, chunking, MiniLM embeddings); and the
scanned patent, which fails (no text layer), so the dashboard has a failure to list and
the file history page a failed file. Not timed.

Then ada (admin) logs in through the login form; an ``httpx.Client`` keeps the session
cookie, so every page is fetched as a browser would, server-side rendering included. The
login page is fetched by a client without a cookie. ``--n`` rounds; each round fetches
every page once, in the same order, so the machine's noise falls on all of them alike (a
first round of warm-up is not counted). Latency: client side, request sent to body read,
over loopback: the handler's time plus HTTP; ``/healthz`` (no database, no template) in
the same rounds is the floor that HTTP, uvicorn and the middleware cost on their own.
Every response must be a 200 (the run stops otherwise).
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import httpx
from _services import Server, private_database, start_server, stop_server

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus"
FED = CORPUS / "fed-sr-model-validation-stress-testing-2015.pdf"
PATENT = CORPUS / "us-patent-12290739.pdf"  # scanned: fails, no text layer
TARGET_MS = 200.0
ADMIN, PASSWORD = "ada", "correct horse battery staple"
DOMAIN = "fed"
STALL_SECONDS = 900.0


def documents(count: int) -> list[Path]:
    """The Fed report, then the smallest files of legacy-kb (text first)."""
    others = sorted((CORPUS / "legacy-kb").iterdir(), key=lambda p: p.stat().st_size)
    return [FED, *others][: max(1, count)]


def set_up(server: Server, docs: list[Path]) -> dict[str, int]:
    """Users, the domain, its documents taken to their final state; the ids the pages need."""
    from tidyllm.access import add_user
    from tidyllm.knowledge import create_domain
    from tidyllm.session import UnifiedSessionManager

    with UnifiedSessionManager(
        data_dir=server.data_dir, database={"url": server.database_url}
    ) as sm:
        add_user(sm, ADMIN, "admin", PASSWORD)
        create_domain(sm, DOMAIN)
    with server.client() as http:
        login = http.post("/api/v1/login", json={"name": ADMIN, "password": PASSWORD})
        login.raise_for_status()
        http.headers["X-CSRF-Token"] = login.json()["user"]["csrf_token"]
        ids = {}
        for path in [*docs, PATENT]:
            with path.open("rb") as data:
                sent = http.post(
                    f"/api/v1/domains/{DOMAIN}/uploads", files={"file": (path.name, data)}
                )
            sent.raise_for_status()
            ids[path.name] = sent.json()["files"][0]["id"]
        start = time.monotonic()
        waiting = dict(ids)
        while waiting:
            for name, file_id in list(waiting.items()):
                state = http.get(f"/api/v1/uploads/{file_id}").json()["state"]
                if state not in ("pending", "processing"):
                    print(f"  {name}: {state} after {time.monotonic() - start:.0f} s")
                    waiting.pop(name)
            if time.monotonic() - start > STALL_SECONDS:
                raise SystemExit(f"not processed in {STALL_SECONDS:.0f} s: {sorted(waiting)}")
            time.sleep(1)
        listed = http.get(f"/api/v1/domains/{DOMAIN}/documents").json()["documents"]
    if not listed:
        raise SystemExit("no document was indexed")
    return {"done": ids[FED.name], "failed": ids[PATENT.name], "document": listed[0]["id"]}


def log_in(server: Server) -> httpx.Client:
    """A client holding ada's session cookie, logged in through the login form."""
    client = httpx.Client(base_url=server.url, timeout=120)
    sent = client.post("/login", data={"name": ADMIN, "password": PASSWORD, "next": "/domains"})
    if sent.status_code != 303 or not client.cookies:
        raise SystemExit(f"log-in failed: {sent.status_code} {sent.text[:200]}")
    return client


def pages(ids: dict[str, int]) -> dict[str, str]:
    """Name -> path of every page and htmx fragment (GET)."""
    return {
        "/healthz (baseline)": "/healthz",
        "login": "/login",
        "domains": "/domains",
        "documents": f"/domains/{DOMAIN}/documents",
        "document view": f"/domains/{DOMAIN}/documents/{ids['document']}/view",
        "upload": "/upload",
        "ask (GET)": f"/domains/{DOMAIN}/ask",
        "chat": f"/domains/{DOMAIN}/chat",
        "dashboard": "/dashboard",
        "file history (done)": f"/dashboard/files/{ids['done']}",
        "file history (failed)": f"/dashboard/files/{ids['failed']}",
        "fragment: upload state": f"/uploads/{ids['done']}/state",
        "fragment: health": "/dashboard/health",
        "fragment: MLflow runs": "/dashboard/mlflow",
    }


def timed(client: httpx.Client, path: str) -> float:
    start = time.perf_counter()
    response = client.get(path)
    elapsed = (time.perf_counter() - start) * 1000
    if response.status_code != 200:
        raise SystemExit(f"GET {path}: {response.status_code} {response.text[:300]}")
    return elapsed


def measure(server: Server, paths: dict[str, str], rounds: int) -> dict[str, list[float]]:
    anonymous = httpx.Client(base_url=server.url, timeout=120)
    user = log_in(server)
    times: dict[str, list[float]] = {name: [] for name in paths}
    try:
        for round_ in range(rounds + 1):
            for name, path in paths.items():
                ms = timed(anonymous if name == "login" else user, path)
                if round_:  # round 0 warms up
                    times[name].append(ms)
    finally:
        anonymous.close()
        user.close()
    return times


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def report(times: dict[str, list[float]], rounds: int) -> bool:
    base = statistics.median(times["/healthz (baseline)"])
    print(f"\n{rounds} rounds, client-side ms (target: p50 < {TARGET_MS:.0f} ms)")
    print(f"{'page':<26}{'p50':>9}{'p95':>9}{'max':>9}{'p50-base':>10}  target")
    ok = True
    for name, values in times.items():
        p50, p95 = statistics.median(values), percentile(values, 0.95)
        met = p50 < TARGET_MS
        ok &= met
        print(
            f"{name:<26}{p50:>9.1f}{p95:>9.1f}{max(values):>9.1f}{p50 - base:>10.1f}  "
            f"{'met' if met else 'MISSED'}"
        )
    print(f"\nevery page p50 < {TARGET_MS:.0f} ms: {'yes' if ok else 'NO'}")
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=50, help="timed rounds (default 50)")
    parser.add_argument("--docs", type=int, default=3, help="documents in the domain (default 3)")
    args = parser.parse_args()
    for path in (FED, PATENT):
        if not path.exists():
            raise SystemExit(f"missing from the shared corpus: {path}")
    with private_database("bench-web-") as (root, url):
        server = start_server(root / "serve", url)
        try:
            docs = documents(args.docs)
            print(f"domain {DOMAIN!r}: {', '.join(p.name for p in docs)} + {PATENT.name}")
            ids = set_up(server, docs)
            times = measure(server, pages(ids), args.n)
        finally:
            stop_server(server)
    report(times, args.n)


if __name__ == "__main__":
    main()
