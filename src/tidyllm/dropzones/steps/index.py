"""``index``: hand the extracted document to a knowledge domain.

A thin call into :func:`tidyllm.knowledge.index_document`, imported lazily so
the drop-zone engine works without the knowledge module; a file routed to
``index`` when it is missing fails with a clear error instead.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from tidyllm.dropzones.pipeline import StepContext
from tidyllm.errors import DomainNotFound, FileRejected, KnowledgeError


def _index_function():
    try:
        from tidyllm.knowledge import index_document
    except ImportError:
        return None
    return index_document


class IndexStep:
    """Indexes ``ctx.document`` into the zone's domain (idempotent per content hash)."""

    name = "index"
    version = "1"

    def run(self, ctx: StepContext) -> dict[str, Any]:
        index_document = _index_function()
        if index_document is None:
            raise FileRejected(
                "index_unavailable",
                "the knowledge module's index_document() is not available in this installation",
                hint="Install a TidyLLM version with knowledge domains, then retry the file.",
            )
        if ctx.document is None:
            raise FileRejected(
                "step_failed",
                "the index step needs an extracted document",
                hint="Put the extract step before index in the zone's pipeline.",
            )
        domain = ctx.zone.settings.domain
        if not domain:
            raise FileRejected(
                "no_domain",
                f"zone {ctx.zone.name!r} has no knowledge domain to index into",
                hint="Set `domain:` for the zone in the settings file, then retry the file.",
            )
        try:
            indexed = index_document(
                ctx.sm,
                domain=domain,
                document=ctx.document,
                source_uri=ctx.source_uri,
                version=ctx.version,
                content_hash=ctx.sha256,
                title=_title(ctx),
                metadata={"zone": ctx.zone.name, "key": ctx.key},
                force=ctx.reindex,
            )
        except DomainNotFound as exc:
            # Retrying with backoff cannot create the domain: fail at once and say how.
            raise FileRejected(
                "no_domain",
                str(exc),
                hint=f"Create it (`tidyllm domains create {domain}`), then retry the file.",
            ) from exc
        except KnowledgeError as exc:
            # A document without text, invalid metadata or an embedder mismatch: the same
            # file fails the same way on every attempt, so it is bad input, not transient.
            raise FileRejected("step_failed", f"cannot index: {exc}") from exc
        summary = dataclasses.asdict(indexed) if dataclasses.is_dataclass(indexed) else {}
        out = {"domain": domain, **{k: v for k, v in summary.items() if _jsonable(v)}}
        # issue 13: the extracted and sidecar metadata layers (also for unchanged content);
        # never fails the file: problems are warnings in this step's result
        document_id = getattr(indexed, "document_id", None)
        if isinstance(document_id, int):
            out["metadata"] = _record_metadata(ctx, domain, document_id)
        return out


def _title(ctx: StepContext) -> str:
    """The title embedded with each chunk: the file's own, unless it is junk ("Microsoft
    Word - x.docx", "PowerPoint Presentation"), then the first page's largest font (issue
    13); the file name when there is nothing better."""
    from tidyllm.extraction.metadata import file_metadata, is_junk_title

    title = file_metadata(ctx.document).get("title")
    if not title and not is_junk_title(ctx.document.title):
        title = ctx.document.title
    return title or ctx.filename


def _record_metadata(ctx: StepContext, domain: str, document_id: int) -> dict[str, Any]:
    from tidyllm.knowledge.ingest_metadata import record_file_metadata, sidecar_folder

    try:
        folder, name = sidecar_folder(ctx.sm, ctx.zone, ctx.key)
    except Exception as exc:  # an unusual key: no sidecar, the file's own metadata still
        folder, name = None, ctx.filename
        warning = f"sidecar not looked for: {exc.__class__.__name__}"
    else:
        warning = None
    summary = record_file_metadata(
        ctx.sm,
        domain=domain,
        document_id=document_id,
        document=ctx.document,
        folder=folder,
        name=name,
    )
    if warning:
        summary["warnings"].insert(0, warning)
    return summary


def _jsonable(value: object) -> bool:
    return value is None or isinstance(value, str | int | float | bool)
