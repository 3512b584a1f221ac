"""``report``: a JSON and a Markdown processing report beside the processed file."""

from __future__ import annotations

from typing import Any

from tidyllm.dropzones.pipeline import StepContext
from tidyllm.dropzones.report import file_report_json, file_report_markdown


class ReportStep:
    """Adds ``<processed name>.report.json`` and ``.report.md`` to the file's attachments."""

    name = "report"
    version = "1"

    def run(self, ctx: StepContext) -> dict[str, Any]:
        report = {
            "zone": ctx.zone.name,
            "key": ctx.key,
            "file_id": ctx.file_id,
            "sha256": ctx.sha256,
            "size": ctx.size,
            "source_uri": ctx.source_uri,
            "steps": dict(ctx.results),
        }
        ctx.attachments["report.json"] = file_report_json(report)
        ctx.attachments["report.md"] = file_report_markdown(report)
        return {"attachments": ["report.json", "report.md"]}
