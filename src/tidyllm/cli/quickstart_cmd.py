"""``tidyllm quickstart``: the whole journey on embedded defaults."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn

from tidyllm.cli.knowledge_cmd import print_answer
from tidyllm.cli.output import console
from tidyllm.quickstart import (
    QUESTION,
    WEB_HINT,
    quickstart_settings,
    run_quickstart,
    sample_files,
)
from tidyllm.redaction import redact
from tidyllm.session import UnifiedSessionManager
from tidyllm.settings import load_settings


def quickstart(
    samples: Annotated[Path, typer.Option(help="Folder of documents to drop.")] = Path("samples"),
    question: Annotated[str, typer.Option(help="The question to ask.")] = QUESTION,
) -> None:
    """Create a domain, drop the sample documents, process them, answer a question."""
    base = load_settings().settings
    files = sample_files(samples)
    with UnifiedSessionManager(load_settings(quickstart_settings(base))) as sm:
        progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            console=console,
        )
        with progress:
            task = progress.add_task("processing samples", total=len(files))
            result = run_quickstart(
                sm, samples, question=question, on_outcome=lambda _: progress.advance(task)
            )
    for line in result.lines():
        console.print(redact(line), markup=False)
    console.print(f"\nQ: {result.answer.question}")
    print_answer(result.answer)
    console.print(f"\n{WEB_HINT}", markup=False, soft_wrap=True)
