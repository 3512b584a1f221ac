"""The CLI's command group: errors mapped once, interruptions ended once, commands loaded lazily.

* Any :class:`TidyLLMError` becomes one clear line on stderr and exit code 1 (the
  cause chain with ``-v``).
* An interruption (SIGINT/SIGTERM, see :mod:`tidyllm.cli.main`) ends every command
  the same way: "interrupted; run the same command again to continue" and exit 130.
* Commands are imported only when they run: ``tidyllm --help`` lists them from a
  table of names and one-line helps, so it imports no command module (and none of
  the database, S3, MLflow or model libraries behind them).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from difflib import get_close_matches
from typing import Any, ClassVar

import typer
from typer.core import TyperCommand, TyperGroup

from tidyllm import interrupt
from tidyllm.cli.output import err_console
from tidyllm.errors import TidyLLMError
from tidyllm.redaction import redact

EXIT_ERROR = 1
EXIT_INTERRUPTED = 130  # 128 + SIGINT, what shells report for Ctrl-C
INTERRUPTED = "interrupted; run the same command again to continue"


def _cause_chain(exc: BaseException) -> list[str]:
    chain = []
    cause = exc.__cause__ or exc.__context__
    while cause is not None and len(chain) < 10:
        chain.append(f"  caused by {cause.__class__.__name__}: {redact(cause)}")
        cause = cause.__cause__ or cause.__context__
    return chain


def report_interrupted() -> None:
    """Print the interruption message on stderr (once per process)."""
    global _reported
    if not _reported:
        _reported = True
        err_console.print(INTERRUPTED, markup=False, highlight=False)


_reported = False


class ErrorMappingGroup(TyperGroup):
    """A command group that turns any TidyLLMError into one line on stderr and exit code 1,
    and an interruption into the interruption message and exit code 130."""

    def invoke(self, ctx: typer.Context):  # type: ignore[override]
        try:
            result = super().invoke(ctx)
        except TidyLLMError as exc:
            if interrupt.requested():  # a failure caused by the stop itself
                report_interrupted()
                raise typer.Exit(EXIT_INTERRUPTED) from None
            err_console.print(f"[bold red]error:[/] {redact(exc)}", markup=True, highlight=False)
            if (ctx.obj or {}).get("verbose"):
                for line in _cause_chain(exc):
                    err_console.print(line, markup=False, highlight=False)
            raise typer.Exit(EXIT_ERROR) from None
        except KeyboardInterrupt:
            report_interrupted()
            raise typer.Exit(EXIT_INTERRUPTED) from None
        except typer.Exit:
            if interrupt.requested():
                report_interrupted()
                raise typer.Exit(EXIT_INTERRUPTED) from None
            raise
        if interrupt.requested():  # the work stopped gracefully, but it did not finish
            report_interrupted()
            raise typer.Exit(EXIT_INTERRUPTED)
        return result


@dataclass(frozen=True)
class Lazy:
    """A command imported when it runs: ``target`` is ``module:attribute``.

    The attribute is a command function, or a ``typer.Typer`` (a sub-group).
    ``help`` is the one line ``tidyllm --help`` shows; a test keeps it equal to
    the command's own help.
    """

    target: str
    help: str

    def load(self, name: str) -> Any:
        module, attribute = self.target.split(":")
        obj = getattr(importlib.import_module(module), attribute)
        if isinstance(obj, typer.Typer):
            command = typer.main.get_group(obj)
        else:
            single = typer.Typer(add_completion=False)
            single.command(name)(obj)
            command = typer.main.get_command(single)
        command.name = name
        return command


class LazyGroup(ErrorMappingGroup):
    """An :class:`ErrorMappingGroup` whose commands come from ``lazy_commands``."""

    lazy_commands: ClassVar[dict[str, Lazy]] = {}
    _listing = False

    def list_commands(self, ctx: typer.Context) -> list[str]:  # type: ignore[override]
        names = super().list_commands(ctx)
        return names + [name for name in self.lazy_commands if name not in names]

    def get_command(self, ctx: typer.Context, cmd_name: str) -> Any:  # type: ignore[override]
        command = super().get_command(ctx, cmd_name)
        spec = self.lazy_commands.get(cmd_name)
        if command is not None or spec is None:
            return command
        if self._listing:  # the group's help: name and one line, without importing
            return TyperCommand(name=cmd_name, help=spec.help)
        command = spec.load(cmd_name)
        self.commands[cmd_name] = command
        return command

    def format_help(self, ctx: typer.Context, formatter: Any) -> None:  # type: ignore[override]
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False

    def resolve_command(self, ctx: typer.Context, args: list[str]):  # type: ignore[override]
        try:
            return super().resolve_command(ctx, args)
        except Exception as exc:  # UsageError of Typer's vendored click (private module): re-raised
            message = getattr(exc, "message", None)
            if isinstance(message, str) and args and "Did you mean" not in message:
                matches = get_close_matches(args[0], self.list_commands(ctx))
                if matches:
                    suggestions = ", ".join(f"{m!r}" for m in matches)
                    exc.message = f"{message.rstrip('.')}. Did you mean {suggestions}?"  # type: ignore[attr-defined]
            raise
