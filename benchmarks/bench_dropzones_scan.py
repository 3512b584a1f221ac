"""Reconciliation scan of a large S3 prefix (moto) with nothing new: time and peak memory.

    python benchmarks/bench_dropzones_scan.py [--objects 100000] [--threads 16]

One zone's ``incoming/`` prefix is grown in moto to 1/4, 1/2 and all of
``--objects``. At each size a first scan records the new objects in the ledger,
then the scan is repeated with nothing new and timed; peak Python memory
(tracemalloc, during the repeated scan) must stay flat as the prefix grows,
because the listing is streamed and recorded in batches of 1,000. The baseline
is a bare paginated ListObjectsV2 of the same prefix in the same run.

Seeding goes through one boto3 client shared by a thread pool (boto3 clients
are thread-safe), growing the prefix instead of seeding one per size, so
100,000 objects are put once, not 175,000 times.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import tracemalloc
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from _dropzones_bench import bench_env
from _services import MotoS3

from tidyllm.dropzones.detect import scan_zone
from tidyllm.dropzones.ledger import Ledger
from tidyllm.dropzones.pipeline import resolve_pipeline

BUCKET = "bench-bucket"
PREFIX = "zone/incoming/"


def seed(s3, start: int, stop: int, threads: int) -> float:
    """Put objects ``start..stop-1`` under the zone's incoming/; returns seconds taken."""

    def put(k: int) -> None:
        s3.put_object(Bucket=BUCKET, Key=f"{PREFIX}o{k:07d}", Body=b"x")

    t0 = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        for _ in pool.map(put, range(start, stop), chunksize=256):
            pass
    return time.perf_counter() - t0


def bare_listing(s3) -> tuple[int, float]:
    """Pages and seconds for a plain paginated listing of the prefix."""
    t0 = time.perf_counter()
    pages = sum(
        1 for _ in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=PREFIX)
    )
    return pages, time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--objects", type=int, default=100_000)
    parser.add_argument("--threads", type=int, default=16, help="put_object threads for seeding")
    args = parser.parse_args()

    os.environ.update(
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",  # noqa: S106 - moto accepts any key
        AWS_DEFAULT_REGION="us-east-1",
    )
    moto = MotoS3(Path(tempfile.mkdtemp(prefix="tidyllm-bench-moto-")))
    moto.start()
    try:
        sizes = [args.objects // 4, args.objects // 2, args.objects]

        def zones(_root):
            return [{"name": "scan", "source": f"s3://{BUCKET}/zone/", "pipeline": "archive"}]

        with bench_env(zones, object_store={"endpoint_url": moto.url}) as (dz, _root, _):
            s3 = dz.sm.s3_client()
            s3.create_bucket(Bucket=BUCKET)
            ledger = Ledger(dz.sm)
            zone = dz.zones(["scan"])[0]
            pipeline = resolve_pipeline("archive")
            have = 0
            for n in sizes:
                seeded = seed(s3, have, n, args.threads)
                print(f"seeded {n - have} objects in {seeded:.1f} s", flush=True)
                have = n
                t0 = time.perf_counter()
                first = scan_zone(dz.sm, ledger, zone, pipeline)  # records the new ones
                recorded = time.perf_counter() - t0
                assert first.listed == n, first
                pages, bare = bare_listing(s3)
                tracemalloc.start()
                t0 = time.perf_counter()
                result = scan_zone(dz.sm, ledger, zone, pipeline)
                took = time.perf_counter() - t0
                _, peak = tracemalloc.get_traced_memory()
                tracemalloc.stop()
                assert result.new == 0 and result.listed == n, result
                print(
                    f"{n:7d} objects: first scan (records {first.new}) {recorded:6.2f} s; "
                    f"repeat scan {took:6.2f} s; bare listing ({pages} pages) {bare:6.2f} s; "
                    f"ratio {took / bare:.2f}; peak traced memory {peak / 1e6:.1f} MB",
                    flush=True,
                )
    finally:
        moto.stop()


if __name__ == "__main__":
    main()
