"""The quickstart: the whole journey on embedded defaults, in one call.

Creates a knowledge domain, drops the sample documents into a local drop
zone, processes them (extract → index → report) and answers a question with
checked citations. ``tidyllm quickstart`` is a thin wrapper around
:func:`run_quickstart`; the README's main-job command runs it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tidyllm.errors import TidyLLMError
from tidyllm.settings import Settings

DOMAIN = "quickstart"
ZONE = "quickstart"
QUESTION = "How much additional capital were the SCAP bank holding companies required to add?"


@dataclass(frozen=True)
class QuickstartResult:
    """What the quickstart did: the worker's summary and the answer."""

    summary: Any
    answer: Any


def quickstart_settings(base: Settings) -> dict[str, Any]:
    """Settings overrides adding the quickstart's local zone under the data directory."""
    zone_dir = Path(base.data_dir).expanduser().resolve() / "zones" / ZONE
    zones = [z.model_dump() for z in base.zones if z.name != ZONE]
    zones.append(
        {
            "name": ZONE,
            "source": str(zone_dir),
            "pipeline": "index",
            "domain": DOMAIN,
            "quiet_period": 0,
        }
    )
    return {"zones": zones}


def sample_files(samples: Path) -> list[Path]:
    """The documents to drop: every regular file except READMEs."""
    if not samples.is_dir():
        raise TidyLLMError(f"sample folder {samples} does not exist")
    files = sorted(p for p in samples.iterdir() if p.is_file() and p.suffix.lower() != ".md")
    if not files:
        raise TidyLLMError(f"no sample documents in {samples}")
    return files


def run_quickstart(
    sm: Any,
    samples: Path,
    *,
    question: str = QUESTION,
    on_outcome: Callable[[Any], None] | None = None,
) -> QuickstartResult:
    """Create the domain (once), drop and process the samples, ask ``question``."""
    from tidyllm.answering import ask
    from tidyllm.dropzones import UnifiedDropZones
    from tidyllm.knowledge import create_domain, list_domains

    if DOMAIN not in {d.domain.name for d in list_domains(sm)}:
        create_domain(sm, DOMAIN, description="Sample documents dropped by `tidyllm quickstart`")
    dz = UnifiedDropZones(sm)
    for path in sample_files(samples):
        dz.drop(path, zone=ZONE)
    summary = dz.drain([ZONE], on_outcome=on_outcome)
    return QuickstartResult(summary=summary, answer=ask(sm, DOMAIN, question))
