"""`tidyllm ingest` end to end from a cold CLI vs the raw embedder on the same chunks.

    python benchmarks/bench_ingest_end_to_end.py [--folder ../shared/corpus/legacy-kb]
        [--fed-runs 3] [--pythonpath SRC]

Everything runs on the embedded defaults, in fresh data directories, through the
real CLI in new processes (a cold CLI: imports, model load, ledger, extraction,
chunking, embedding, writing, tracking), as a user would:

1. The Fed report (``samples/``): for each of ``--fed-runs`` fresh data dirs,
   ``tidyllm domains create fed`` (starts the embedded PostgreSQL, not timed), then
   ``tidyllm ingest fed samples/<fed pdf>`` timed. Target: < 8 s (median).
2. A folder of real PDFs (``--folder``, only its ``*.pdf``): ``tidyllm ingest kb
   FOLDER`` timed; chunks counted in the database. Then, in this process, the raw
   embedder (warm model, configured batch size) embeds exactly the chunks the
   pipeline embedded (the same extraction and chunker, counts checked; one call per
   document, as the index step makes). Target:
   end-to-end chunks/s >= 75 % of the raw embedder's.

``--pythonpath`` runs the CLI from another source tree (a "before" checkout) with
the same interpreter. The embedded servers are stopped at the end.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FED = ROOT / "samples" / "fed-sr-model-validation-stress-testing-2015.pdf"
FOLDER = ROOT.parent / "shared" / "corpus" / "legacy-kb"


def _env(data_dir: Path, pythonpath: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TIDYLLM_", "MLFLOW_"))}
    env.update(TIDYLLM_DATA_DIR=str(data_dir), AWS_EC2_METADATA_DISABLED="true")
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    return env


def _tidyllm(env: dict[str, str], *args: str, ok: tuple[int, ...] = (0,)) -> tuple[float, str]:
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-c", "from tidyllm.cli.main import run; run()", *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    if result.returncode not in ok:
        raise SystemExit(f"tidyllm {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return seconds, result.stdout.strip()


def _drain_tracking(env: dict[str, str], pythonpath: str | None) -> None:
    """Not timed: let the background MLflow flush finish before the next measurement."""
    if pythonpath:
        return  # a tree from before the tracking outbox logged to MLflow inside the command
    seconds, out = _tidyllm(env, "tracking", "flush")
    print(f"  (after the command, untimed: {out.splitlines()[0]} in {seconds:.1f}s)", flush=True)


def _fresh_dir(prefix: str) -> Path:
    # mkdtemp (not a 0700 parent): the embedded server runs as its own user
    return Path(tempfile.mkdtemp(prefix=prefix))


def fed_runs(runs: int, pythonpath: str | None) -> list[float]:
    walls = []
    for _ in range(runs):
        data_dir = _fresh_dir("bench-e2e-fed-")
        env = _env(data_dir, pythonpath)
        try:
            _tidyllm(env, "domains", "create", "fed")
            wall, out = _tidyllm(env, "ingest", "fed", str(FED))
            walls.append(wall)
            print(f"  fed ingest: {wall:5.1f}s  [{out.splitlines()[-1]}]", flush=True)
            _drain_tracking(env, pythonpath)
        finally:
            _tidyllm(env, "db", "stop")
            shutil.rmtree(data_dir, ignore_errors=True)
    return walls


def folder_run(folder: Path, pythonpath: str | None) -> tuple[int, float, int, float]:
    """(chunks, end-to-end seconds, raw chunks, raw embedding seconds)."""
    data_dir = _fresh_dir("bench-e2e-kb-")
    pdfs = sorted(folder.glob("*.pdf"))
    source = data_dir / "pdfs"
    source.mkdir()
    for pdf in pdfs:
        shutil.copy2(pdf, source / pdf.name)
    env = _env(data_dir, pythonpath)
    try:
        _tidyllm(env, "domains", "create", "kb")
        # exit 1: some files failed (scanned PDFs without OCR); the others are indexed
        wall, out = _tidyllm(env, "ingest", "kb", str(source), ok=(0, 1))
        print(f"  folder ingest: {wall:5.1f}s  [{out.splitlines()[-1]}]", flush=True)
        _drain_tracking(env, pythonpath)
        from tidyllm import UnifiedSessionManager

        with UnifiedSessionManager(data_dir=data_dir) as sm:
            with sm.connection() as conn:
                (chunks,) = conn.execute(
                    "SELECT count(*) FROM chunks c JOIN domains m ON m.id = c.domain_id"
                    " WHERE m.name = 'kb'"
                ).fetchone()
            raw_chunks, raw_seconds = _raw_embedder(sm, pdfs)
    finally:
        _tidyllm(env, "db", "stop")
        shutil.rmtree(data_dir, ignore_errors=True)
    return chunks, wall, raw_chunks, raw_seconds


def _raw_embedder(sm, pdfs: list[Path]) -> tuple[int, float]:
    from tidyllm.extraction import extract
    from tidyllm.knowledge.domains import get_domain
    from tidyllm.knowledge.indexing import chunker_for, embedding_text

    with sm.connection() as conn:
        domain = get_domain(conn, "kb")
    chunker = chunker_for(domain.chunk_size, domain.chunk_overlap)
    documents = []  # the chunk texts of each document, embedded per document as the pipeline does
    for pdf in pdfs:
        try:
            document = extract(pdf)
        except Exception as exc:  # the pipeline failed it too; it has no chunks there either
            print(f"  (not extracted: {pdf.name}: {type(exc).__name__})")
            continue
        documents.append([embedding_text(c) for c in chunker.chunk(document.pages)])
    embedder = sm.embedder()
    embedder.embed(["warm up the model"])
    batch = sm.settings.embedder.batch_size or embedder.default_batch_size
    started = time.perf_counter()
    for texts in documents:
        if texts:
            embedder.embed(texts, batch_size=batch)
    return sum(len(t) for t in documents), time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folder", type=Path, default=FOLDER)
    parser.add_argument("--fed-runs", type=int, default=3)
    parser.add_argument("--pythonpath", default=None, help="run the CLI from this source tree")
    parser.add_argument("--skip-folder", action="store_true")
    args = parser.parse_args()
    print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    walls = fed_runs(args.fed_runs, args.pythonpath) if args.fed_runs else []
    if walls:
        median = statistics.median(walls)
        verdict = "meets" if median < 8 else "MISSES"
        print(
            f"Fed report, cold CLI ingest: median {median:.1f}s of {len(walls)} ({verdict} < 8 s)"
        )
    if args.skip_folder:
        return
    chunks, wall, raw_chunks, raw_seconds = folder_run(args.folder, args.pythonpath)
    e2e, raw = chunks / wall, raw_chunks / raw_seconds
    print(f"folder {args.folder.name}: {chunks} chunks (raw embedder re-chunked {raw_chunks})")
    print(f"end to end (cold CLI): {e2e:6.1f} chunks/s ({wall:.1f}s)")
    print(f"raw embedder         : {raw:6.1f} chunks/s ({raw_seconds:.1f}s)")
    ratio = e2e / raw
    verdict = "meets" if ratio >= 0.75 else "MISSES"
    print(f"end to end / raw: {ratio:.0%} ({verdict} the >= 75% target)")


if __name__ == "__main__":
    main()
