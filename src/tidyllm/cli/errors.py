"""Errors mapped once for the whole CLI: one clear line, the cause chain with ``-v``."""

from __future__ import annotations

import typer
from typer.core import TyperGroup

from tidyllm.cli.output import err_console
from tidyllm.errors import TidyLLMError
from tidyllm.redaction import redact

EXIT_ERROR = 1


def _cause_chain(exc: BaseException) -> list[str]:
    chain = []
    cause = exc.__cause__ or exc.__context__
    while cause is not None and len(chain) < 10:
        chain.append(f"  caused by {cause.__class__.__name__}: {redact(cause)}")
        cause = cause.__cause__ or cause.__context__
    return chain


class ErrorMappingGroup(TyperGroup):
    """A command group that turns any TidyLLMError into one line on stderr and exit code 1."""

    def invoke(self, ctx: typer.Context):  # type: ignore[override]
        try:
            return super().invoke(ctx)
        except TidyLLMError as exc:
            err_console.print(f"[bold red]error:[/] {redact(exc)}", markup=True, highlight=False)
            if (ctx.obj or {}).get("verbose"):
                for line in _cause_chain(exc):
                    err_console.print(line, markup=False, highlight=False)
            raise typer.Exit(EXIT_ERROR) from None
