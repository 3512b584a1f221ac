"""The quickstart: the whole journey on embedded defaults, in one call.

Creates a knowledge domain, drops the sample documents into a local drop
zone, processes them (extract → index → report) and answers a question with
checked citations. ``tidyllm quickstart`` is a thin wrapper around
:func:`run_quickstart`; the README's main-job command runs it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tidyllm.errors import TidyLLMError
from tidyllm.settings import Settings

DOMAIN = "quickstart"
ZONE = "quickstart"
QUESTION = "How much additional capital were the SCAP bank holding companies required to add?"
# The README's line after the quickstart, printed at the quickstart's end too (same text).
WEB_HINT = (
    "Open the web app: `tidyllm users add NAME --role admin` makes the first admin "
    "(asks the password), then `tidyllm serve` and http://127.0.0.1:8000/ in a browser."
)


@dataclass(frozen=True)
class QuickstartResult:
    """What the quickstart did: the worker's summary, the answer, each file's name."""

    summary: Any
    answer: Any
    names: dict[int, str] = field(default_factory=dict)  # ledger id -> file name
    samples: Path | None = None

    def lines(self) -> list[str]:
        """One line per processed file: its name, how it ended, why and what to run next."""
        out = []
        for outcome in self.summary.outcomes:
            name = self.names.get(outcome.file_id, f"file #{outcome.file_id}")
            line = f"{name} (#{outcome.file_id}): {outcome.state}"
            error = outcome.error
            if error:
                line += f" - {error.get('message', '')}. {error.get('hint', '')}".rstrip()
                line += f"\n  next: {self._next_step(outcome.file_id, name, error)}"
            out.append(line)
        return out

    def _next_step(self, file_id: int, name: str, error: dict[str, Any]) -> str:
        """A command that works for this failure (the quickstart zone never OCRs)."""
        import shlex

        from tidyllm.dropzones.report import retry_command
        from tidyllm.extraction.ocr import ocr_available

        code = error.get("code", "")
        if code == "no_text_layer" and self.samples is not None:
            ingest = f"tidyllm ingest {DOMAIN} {shlex.quote(str(self.samples / name))} --ocr"
            if ocr_available():
                return f"{ingest}  (indexes it with OCR)"
            return f"pip install 'tidyllm[ocr]', then {ingest}"
        return retry_command(zone=ZONE, file_id=file_id, code=code)


def _zone_dir(base: Settings) -> Path:
    return Path(base.data_dir).expanduser().resolve() / "zones" / ZONE


def quickstart_settings(base: Settings) -> dict[str, Any]:
    """Settings overrides adding the quickstart's local zone under the data directory.

    A zone named ``quickstart`` in the settings file lends its ``ocr`` flag, so
    ``ocr: true`` there makes a retry of a scanned sample read it with OCR.
    """
    declared = next((z for z in base.zones if z.name == ZONE), None)
    zones = [z.model_dump() for z in base.zones if z.name != ZONE]
    zones.append(
        {
            "name": ZONE,
            "source": str(_zone_dir(base)),
            "pipeline": "index",
            "domain": DOMAIN,
            "quiet_period": 0,
            "ocr": bool(declared and declared.ocr),
        }
    )
    return {"zones": zones}


def with_quickstart_zone(base: Settings) -> dict[str, Any]:
    """Overrides that make the quickstart's zone visible to later commands.

    Once ``tidyllm quickstart`` has run (its zone folder exists under the data
    directory), ``zones status``/``retry``/``history``, ``drop`` and ``worker``
    see the same zone the quickstart used (a ``quickstart`` zone in the
    settings file lends it its ``ocr`` flag). Otherwise: no overrides.
    """
    return quickstart_settings(base) if _zone_dir(base).is_dir() else {}


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
    names = {o.file_id: dz.get(o.file_id).display_key for o in summary.outcomes}
    answer = ask(sm, DOMAIN, question)
    return QuickstartResult(summary=summary, answer=answer, names=names, samples=samples)
