"""Chaos with real indexing: nothing is indexed twice while workers are SIGKILLed.

Two `tidyllm worker` processes run the ``extract,index`` pipeline on a local zone
(real extraction, the real MiniLM embedder, real pgvector writes) while one of
them is SIGKILLed and restarted every 2-4 s. Drops: unique notes, identical copies
under other names, and same-name new versions (each dropped only after the
previous one has left incoming/). Afterwards the knowledge tables must hold
exactly one document per source, whose content is that source's latest ``done``
version, with exactly ``chunk_count`` chunks (no chunk written twice, none left
from an old version), and no content processed to completion twice.
"""

from __future__ import annotations

import hashlib
import os
import random
import signal
import subprocess
import threading
import time
import uuid
from collections import Counter

import pytest
import yaml
from dropzone_helpers import Progress, cli_args, finished_count, open_dz, rows, zone_conf

from tidyllm.knowledge import create_domain

# The run is bounded by progress (STALL_SECONDS), not by a deadline; this only catches a hang.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(3600)]

KILL_SECONDS = 40
#: Fail only when nothing moves for this long: no new drop and no file finished.
STALL_SECONDS = 300
WORDS = ("heron", "cormorant", "spillway", "abutment", "ledger", "quarry", "lantern", "meadow")


def _drops(rng: random.Random) -> list[tuple[str, bytes]]:
    """(name, bytes): 16 unique notes, 6 copies of one note, 2 names x 4 versions."""

    def note(tag: str) -> bytes:
        words = " ".join(rng.choice(WORDS) for _ in range(120))
        return f"# Note {tag}\n\n{words}.\n".encode()

    drops = [(f"notes/n{i:02d}.md", note(f"unique {i}")) for i in range(16)]
    same = note("shared")
    drops += [(f"copies/c{i}.md", same) for i in range(6)]
    for v in range(4):
        drops += [("versions/a.md", note(f"a v{v}")), ("versions/b.txt", note(f"b v{v}"))]
    return drops


def _drop(incoming, name: str, body: bytes, scratch) -> bool:
    """Place a complete file under incoming/ atomically, never replacing one (hard link)."""
    tmp = scratch / uuid.uuid4().hex
    tmp.write_bytes(body)
    target = incoming / name
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(tmp, target)
        return True
    except FileExistsError:
        return False
    finally:
        tmp.unlink()


def test_chaos_nothing_indexed_twice(data_dir, database_url, tmp_path):
    rng = random.Random(77)
    root = tmp_path / "zone"
    incoming = root / "incoming"
    incoming.mkdir(parents=True)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    conf = zone_conf(
        "kb",
        str(root),
        pipeline="extract,index",
        domain="notes",
        scan_interval=1.0,
        max_attempts=50,  # SIGKILLs every 2-4 s must not make a file `dead`
    )
    config = tmp_path / "tidyllm.yaml"
    config.write_text(yaml.safe_dump({"zones": [conf]}))
    dz = open_dz(data_dir, database_url, [conf])
    create_domain(dz.sm, "notes")  # also applies the migrations before the workers race
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TIDYLLM_", "DATABASE_URL"))}
    env.update(
        TIDYLLM_DATA_DIR=str(data_dir), DATABASE_URL=database_url, TIDYLLM_CONFIG=str(config)
    )
    args = cli_args("worker", "--no-track", "--lease-seconds", "3")
    procs: list[subprocess.Popen] = []
    kills = 0

    def spawn() -> subprocess.Popen:
        with open(tmp_path / f"worker-{uuid.uuid4().hex[:6]}.log", "wb") as log:
            return subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT)

    drops = _drops(rng)
    done_dropping = threading.Event()
    made = [0]  # drops written so far (read by the progress check)

    def dropper() -> None:
        for name, body in drops:
            while not _drop(incoming, name, body, scratch):
                time.sleep(0.2)  # the previous version is still waiting in incoming/
            made[0] += 1
            time.sleep(0.05)
        done_dropping.set()

    try:
        procs = [spawn(), spawn()]
        threading.Thread(target=dropper, daemon=True).start()
        start = time.monotonic()
        while time.monotonic() - start < KILL_SECONDS:
            time.sleep(rng.uniform(2, 4))
            i = rng.randrange(len(procs))
            procs[i].send_signal(signal.SIGKILL)
            procs[i].wait(10)
            kills += 1
            procs[i] = spawn()
        progress = Progress(STALL_SECONDS)
        while not progress.stalled(made[0] + finished_count(dz)):
            if done_dropping.is_set() and _settled(dz, incoming):
                break
            time.sleep(1)
        stuck = f"no progress for {STALL_SECONDS} s"
        assert done_dropping.is_set(), f"{stuck}: {made[0]} of {len(drops)} dropped"
        assert _settled(dz, incoming), f"{stuck}: files left unfinished"
        _check(dz, drops, kills)
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGKILL)
            p.wait(10)
        dz.close()


def _settled(dz, incoming) -> bool:
    if any(p.is_file() for p in incoming.rglob("*")):
        return False
    with dz.sm.connection() as conn:
        n = conn.execute("SELECT count(*) FROM files WHERE state IN ('pending', 'processing')")
        return n.fetchone()[0] == 0


def _check(dz, drops, kills) -> None:
    ledger = rows(dz)
    assert Counter(r["state"] for r in ledger)["failed"] == 0, ledger
    done = [r for r in ledger if r["state"] == "done"]
    # no content processed to completion twice
    assert max(Counter(r["sha256"] for r in done).values()) == 1
    # each source's current document is its latest done version
    latest = {}
    for r in sorted(done, key=lambda r: r["id"]):
        latest[r["key"]] = r
    with dz.sm.connection() as conn:
        docs = conn.execute(
            "SELECT id, source_uri, version, content_hash, chunk_count FROM documents"
        ).fetchall()
        per_doc = dict(conn.execute("SELECT document_id, count(*) FROM chunks GROUP BY 1"))
        repeated = conn.execute(
            "SELECT count(*) FROM (SELECT document_id, ordinal FROM chunks "
            "GROUP BY 1, 2 HAVING count(*) > 1) d"
        ).fetchone()[0]
    zone = dz.zones(["kb"])[0]
    expected = {zone.store.uri("incoming/" + key): r for key, r in latest.items()}
    assert sorted(d[1] for d in docs) == sorted(expected)  # one document per source
    for doc_id, uri, version, content_hash, chunk_count in docs:
        row = expected[uri]
        assert (version, content_hash) == (str(row["id"]), row["sha256"])
        assert per_doc[doc_id] == chunk_count  # nothing written twice, nothing left over
    assert repeated == 0
    # every dropped content ended done or duplicate (copies), each source name once
    assert {hashlib.sha256(b).hexdigest() for _, b in drops} == {r["sha256"] for r in done}
    print(
        f"\nindex chaos: {len(drops)} drops, {kills} SIGKILLs; ledger rows by state: "
        f"{dict(Counter(r['state'] for r in ledger))}; "
        f"{sum(r['attempts'] > 1 for r in ledger)} files taken over after a kill; "
        f"{len(docs)} documents, "
        f"{sum(per_doc.values())} chunks"
    )
