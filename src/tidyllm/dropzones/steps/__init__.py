"""Built-in pipeline steps: ``extract``, ``index``, ``archive``, ``report``."""

from __future__ import annotations


def builtin_steps() -> list:
    """One instance of each built-in step."""
    from tidyllm.dropzones.steps.archive import ArchiveStep
    from tidyllm.dropzones.steps.extract import ExtractStep
    from tidyllm.dropzones.steps.index import IndexStep
    from tidyllm.dropzones.steps.report import ReportStep

    return [ExtractStep(), IndexStep(), ArchiveStep(), ReportStep()]
