"""Cost of getting a cached client from the session manager, in ns per call.

    python benchmarks/bench_cached_client.py

Baseline in the same run: a plain dict lookup, the least any cache can cost.
"""

from __future__ import annotations

import tempfile
import timeit

from tidyllm import UnifiedSessionManager


def main() -> None:
    n = 1_000_000
    with UnifiedSessionManager(data_dir=tempfile.mkdtemp(prefix="tidyllm-bench-")) as sm:
        sm.object_store()  # create once; every later call is the cached path
        cache = {"object_store": sm.object_store()}
        manager_ns = min(timeit.repeat(sm.object_store, number=n, repeat=5)) / n * 1e9
        dict_ns = min(timeit.repeat(lambda: cache["object_store"], number=n, repeat=5)) / n * 1e9
    print(f"cached client via manager: {manager_ns:7.0f} ns/call")
    print(f"baseline dict lookup:      {dict_ns:7.0f} ns/call  (ratio {manager_ns / dict_ns:.1f}x)")


if __name__ == "__main__":
    main()
