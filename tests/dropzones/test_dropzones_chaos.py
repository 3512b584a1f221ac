"""Chaos: 500 drops into an S3 zone while 3 worker processes are SIGKILLed and restarted
every 1-3 s, PostgreSQL is restarted once and the S3 server is restarted once.

moto keeps no state across a restart, so the S3 restart is done the way an operator
would restore a bucket: every process touching it is paused (SIGSTOP, and the dropper
waits), the bucket is snapshotted, the server restarted, the bucket re-seeded, and
everything resumed.

The zone runs the ``archive`` pipeline (no parsing) so 500 files fit in the time; the
hostile inputs are those the engine itself must reject: unusable names, empty files,
oversized files, types the zone does not accept.
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

import psycopg
import pytest
import yaml
from dropzone_helpers import Progress, cli_args, finished_count, open_dz, rows, zone_conf

from services import EmbeddedPostgres, MotoS3
from tidyllm.dropzones.scratch import scratch_root, sweep_stale

# The run is bounded by progress (STALL_SECONDS), not by a deadline; this only catches a hang.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(3600)]

PREFIX = "chaos/"
#: The run fails only when nothing moves for this long: no new drop and no file finished.
#: On a loaded machine the fleet is slow but never stuck; a stuck run is a bug.
STALL_SECONDS = 300


def _drops(rng: random.Random) -> list[tuple[str, bytes]]:
    """500 drops: unique mixed types, identical copies, same-name new versions, hostile."""
    exts = ["txt", "md", "csv", "json", "pdf", "docx", "html"]
    drops = []
    for i in range(370):
        ext = exts[i % len(exts)]
        drops.append((f"batch/{i:03d}-doc.{ext}", f"document {i} {rng.random()}".encode() * 20))
    shared = b"the very same bytes, dropped many times" * 10
    drops += [(f"copies/copy-{i}.txt", shared) for i in range(40)]
    drops += [("versions/same-name.txt", f"version {i}".encode() * 30) for i in range(15)]
    drops += [("versions/other.md", f"other version {i}".encode() * 30) for i in range(15)]
    for i in range(6):
        drops += [
            (f"h{i}-bad\\name.txt", b"backslash %d" % i),
            (f"../h{i}-climb.txt", b"traversal %d" % i),
            (f"h{i}-nul\x00name.txt", b"nul %d" % i),
            (f"h{i}-" + "y" * 1000 + ".txt", b"long %d" % i),
            (f"a{i}/./b.txt", b"dot segment %d" % i),
        ]
    drops += [(f"empty-{i}.txt", b"") for i in range(10)]
    drops += [(f"huge-{i}.txt", os.urandom(80_000)) for i in range(10)]
    drops += [(f"program-{i}.exe", b"MZ" + os.urandom(100)) for i in range(10)]
    assert len(drops) == 500
    return drops


def _worker_env(data_dir, db_url, config, s3_url):
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TIDYLLM_", "DATABASE_URL", "AWS_ENDPOINT"))
    }
    env.update(
        TIDYLLM_DATA_DIR=str(data_dir),
        DATABASE_URL=db_url,
        TIDYLLM_CONFIG=str(config),
        AWS_ENDPOINT_URL_S3=s3_url,
    )
    return env


class Fleet:
    """Three worker processes; the killer SIGKILLs and restarts them."""

    def __init__(self, args, env, log_dir):
        self.args, self.env, self.log_dir = args, env, log_dir
        self.procs: list[subprocess.Popen] = []
        self.kills = 0
        self.lock = threading.Lock()

    def spawn(self) -> subprocess.Popen:
        log = open(self.log_dir / f"worker-{uuid.uuid4().hex[:6]}.log", "wb")  # noqa: SIM115
        proc = subprocess.Popen(self.args, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        return proc

    def start(self, n=3):
        self.procs = [self.spawn() for _ in range(n)]

    def kill_one(self, rng):
        with self.lock:
            i = rng.randrange(len(self.procs))
            self.procs[i].send_signal(signal.SIGKILL)
            self.procs[i].wait(10)
            self.kills += 1
            self.procs[i] = self.spawn()

    def signal_all(self, sig):
        with self.lock:
            for p in self.procs:
                if p.poll() is None:
                    p.send_signal(sig)

    def stop(self):
        with self.lock:
            for p in self.procs:
                if p.poll() is None:
                    p.send_signal(signal.SIGKILL)
                p.wait(10)


def _snapshot(s3, bucket):
    objects = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for o in page.get("Contents", []):
            objects[o["Key"]] = s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read()
    return objects


def test_chaos_every_file_once(services_root, data_dir, tmp_path, monkeypatch):
    rng = random.Random(1234)
    moto = MotoS3(services_root / f"chaos-moto-{uuid.uuid4().hex[:6]}")
    moto.start()
    pg = EmbeddedPostgres(services_root / f"chaos-pg-{uuid.uuid4().hex[:6]}")
    pg.start()
    fleet = None
    try:
        with psycopg.connect(pg.url, autocommit=True) as conn:
            conn.execute('CREATE DATABASE "chaos"')
        db_url = pg.url.replace("/postgres?", "/chaos?")
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing-secret")
        monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
        bucket = f"chaos-{uuid.uuid4().hex[:8]}"
        conf = zone_conf(
            "chaos",
            f"s3://{bucket}/{PREFIX}",
            scan_interval=1.0,
            max_file_size_mb=0.05,
            max_attempts=50,
            allowed_types=["txt", "md", "csv", "json", "pdf", "docx", "html"],
        )
        config = tmp_path / "tidyllm.yaml"
        config.write_text(yaml.safe_dump({"zones": [conf]}))
        dz = open_dz(data_dir, db_url, [conf], object_store={"endpoint_url": moto.url})
        s3 = dz.sm.s3_client()
        s3.create_bucket(Bucket=bucket)
        dz.sm.db()  # migrations applied before the workers race to do it

        args = cli_args("worker", "--no-track", "--lease-seconds", "3", "--concurrency", "2")
        fleet = Fleet(args, _worker_env(data_dir, db_url, config, moto.url), tmp_path)
        fleet.start()

        drops = _drops(rng)
        # Held by the dropper around each upload and by the S3 restart as a whole, so no
        # upload lands on the old server after its snapshot (the restart would lose it).
        s3_gate = threading.Lock()
        dropped = threading.Event()
        made = Counter()  # drops written so far (read by the progress check)

        def dropper():
            for name, body in drops:
                key = f"{PREFIX}incoming/{name}"
                while True:  # a new version goes in only once the old one has left incoming/
                    try:
                        with s3_gate:
                            s3.put_object(Bucket=bucket, Key=key, Body=body, IfNoneMatch="*")
                        break
                    except Exception:
                        time.sleep(0.3)
                made["drops"] += 1
                time.sleep(0.02)
            dropped.set()

        threading.Thread(target=dropper, daemon=True).start()

        start = time.monotonic()
        pg_restarted = s3_restarted = False
        progress = Progress(STALL_SECONDS)
        while not progress.stalled(made["drops"] + finished_count(dz)):
            time.sleep(rng.uniform(1, 3))
            fleet.kill_one(rng)
            elapsed = time.monotonic() - start
            if not pg_restarted and elapsed > 6:
                pg.restart()
                pg_restarted = True
            if not s3_restarted and elapsed > 14:
                with s3_gate:
                    fleet.signal_all(signal.SIGSTOP)
                    time.sleep(1)  # requests the workers had already sent complete first
                    snapshot = _snapshot(s3, bucket)
                    moto.restart()
                    s3.create_bucket(Bucket=bucket)
                    for key, body in snapshot.items():
                        s3.put_object(Bucket=bucket, Key=key, Body=body)
                    fleet.signal_all(signal.SIGCONT)
                s3_restarted = True
            if dropped.is_set() and s3_restarted and _settled(dz, s3, bucket):
                break
        fleet.stop()
        assert pg_restarted and s3_restarted
        stuck = f"no progress for {STALL_SECONDS} s"
        assert dropped.is_set(), f"{stuck}: {made['drops']} of 500 dropped"
        assert _settled(dz, s3, bucket), f"{stuck}: files left unfinished"
        _check_invariants(dz, s3, bucket, drops, fleet.kills)
        # the killed workers' copies of documents do not outlive the fleet
        sweep_stale(data_dir)
        assert not list(scratch_root(data_dir).rglob("file-*"))
        dz.close()
    finally:
        if fleet is not None:
            fleet.stop()
        moto.stop()
        pg.stop()


def _settled(dz, s3, bucket) -> bool:
    if s3.list_objects_v2(Bucket=bucket, Prefix=f"{PREFIX}incoming/").get("KeyCount", 0):
        return False
    with dz.sm.connection() as conn:
        n = conn.execute("SELECT count(*) FROM files WHERE state IN ('pending','processing')")
        return n.fetchone()[0] == 0


def _check_invariants(dz, s3, bucket, drops, kills):
    stored = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=PREFIX):
        for o in page.get("Contents", []):
            key = o["Key"][len(PREFIX) :]
            if key.endswith((".error.json", ".report.json", ".report.md")):
                continue
            stored[key] = s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read()
    ledger = rows(dz)
    placed = [r for r in ledger if r["location"] in ("processed", "failed")]
    # every dropped file is in processed/ or failed/ exactly once: nothing missing, no extra
    assert Counter(hashlib.sha256(b).hexdigest() for b in stored.values()) == Counter(
        hashlib.sha256(b).hexdigest() for _, b in drops
    )
    # the ledger agrees with the store object by object
    assert sorted(r["dest_key"] for r in placed) == sorted(stored)
    for r in placed:
        assert r["dest_key"].startswith(r["location"] + "/")
        if r["sha256"]:
            assert hashlib.sha256(stored[r["dest_key"]]).hexdigest() == r["sha256"]
    # nothing processed to completion twice
    done = Counter(r["sha256"] for r in ledger if r["state"] == "done")
    assert max(done.values()) == 1
    by_id = {r["id"]: r for r in ledger}
    for r in ledger:
        if r["state"] == "duplicate":
            assert by_id[r["duplicate_of"]]["state"] == "done"
    counts = Counter(r["state"] for r in ledger)
    print(
        f"\nchaos: {len(drops)} drops, {kills} SIGKILLs, 1 PostgreSQL restart, 1 S3 restart; "
        f"ledger rows by state: {dict(sorted(counts.items()))}; "
        f"objects: {sum(k.startswith('processed/') for k in stored)} processed, "
        f"{sum(k.startswith('failed/') for k in stored)} failed"
    )
    assert len(placed) == len(drops)
