"""Health probes: prove access to each configured service, cheaply and without side effects.

Every probe is read-only and least-privilege (``head_bucket`` plus a one-key
list, never ``list_buckets``; ``SELECT 1``; an experiment search; a model
lookup). Probes run in parallel, so one slow service does not hide the others.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from tidyllm.errors import TidyLLMError
from tidyllm.redaction import redact


@dataclass(frozen=True)
class HealthResult:
    """The outcome of one probe. ``configured=False`` means the service is optional and unset."""

    service: str
    ok: bool
    latency_ms: float
    detail: str
    source: str
    configured: bool = True


Probe = Callable[[], tuple[str, str]]  # returns (detail, credential/config source)


def run_probe(service: str, probe: Probe, *, configured: bool = True) -> HealthResult:
    """Time one probe; any failure becomes a not-ok result with a redacted one-line reason."""
    start = time.perf_counter()
    try:
        detail, source = probe()
        ok = True
    except TidyLLMError as exc:
        detail, source, ok = str(exc), "-", False
    except Exception as exc:  # a probe must report, never crash doctor
        detail, source, ok = f"{exc.__class__.__name__}: {exc}", "-", False
    latency = (time.perf_counter() - start) * 1000
    first_line = redact(detail).strip().splitlines()[0] if detail.strip() else ""
    return HealthResult(service, ok, round(latency, 1), first_line, redact(source), configured)


def run_probes(probes: dict[str, tuple[Probe, bool]]) -> list[HealthResult]:
    """Run every probe concurrently; results keep the given order."""
    with ThreadPoolExecutor(max_workers=max(1, len(probes)), thread_name_prefix="health") as pool:
        futures = [
            pool.submit(run_probe, name, probe, configured=configured)
            for name, (probe, configured) in probes.items()
        ]
        return [f.result() for f in futures]
