"""``tidyllm check`` and ``tidyllm migrate``: thin commands over the library.

Exit codes: 0 clean, 1 findings (or, for ``migrate --diff``, changes
pending; for ``migrate --write``, files that could not be rewritten), 2 usage
error (bad path, bad option, bad configuration or baseline).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tidyllm.archcheck.baseline import (
    apply_baseline,
    load_baseline,
    ratchet_baseline,
    write_baseline,
)
from tidyllm.archcheck.checker import check
from tidyllm.archcheck.config import CheckConfig, find_pyproject, load_config
from tidyllm.archcheck.report import FORMATS, render
from tidyllm.errors import CheckConfigError

PathsArg = Annotated[
    list[Path] | None,
    typer.Argument(help="Files or folders to check (default: the current folder)."),
]
JobsOpt = Annotated[
    int,
    typer.Option(
        "--jobs", "-j", min=0, help="Worker processes (0, the default: one per CPU; 1: none)."
    ),
]
ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", help="pyproject.toml to read [tool.tidyllm.check] from."),
]


def _config(config_path: Path | None) -> CheckConfig:
    if config_path is not None and not config_path.is_file():
        raise CheckConfigError(f"config file not found: {config_path}")
    return load_config(config_path or find_pyproject(Path.cwd()))


def _fail_usage(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)


def check_command(
    paths: PathsArg = None,
    output_format: Annotated[
        str, typer.Option("--format", "-f", help="Output format: text, json or sarif.")
    ] = "text",
    config_path: ConfigOpt = None,
    baseline: Annotated[
        Path | None,
        typer.Option("--baseline", help="Baseline file of accepted findings (overrides config)."),
    ] = None,
    write_baseline_flag: Annotated[
        bool,
        typer.Option("--write-baseline", help="Record all current findings as the baseline."),
    ] = False,
    ratchet: Annotated[
        bool,
        typer.Option("--ratchet", help="Drop baseline entries that no longer occur."),
    ] = False,
    jobs: JobsOpt = 0,
    no_prefilter: Annotated[
        bool,
        typer.Option(
            "--no-prefilter", hidden=True, help="Scan every file (benchmarks: same findings)."
        ),
    ] = False,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the report to this file.")
    ] = None,
) -> None:
    """Report code that bypasses the UnifiedSessionManager."""
    if output_format not in FORMATS:
        raise _fail_usage(f"--format must be one of {', '.join(FORMATS)}")
    try:
        config = _config(config_path)
        result = check(paths or [Path(".")], config, jobs=jobs, prefilter=not no_prefilter)
        baseline_path = baseline or config.baseline
        findings = result.findings
        notes: list[str] = []
        if write_baseline_flag:
            if baseline_path is None:
                raise CheckConfigError("--write-baseline needs --baseline or a configured baseline")
            count = write_baseline(baseline_path, findings)
            typer.echo(f"wrote {count} findings to baseline {baseline_path}")
            raise typer.Exit(0)
        if baseline_path is not None and (baseline is not None or baseline_path.exists()):
            entries = load_baseline(baseline_path)
            outcome = apply_baseline(findings, entries)
            findings = outcome.new
            notes.append(f"{outcome.matched} findings accepted by baseline {baseline_path}")
            if outcome.stale:
                if ratchet:
                    dropped = ratchet_baseline(baseline_path, entries, outcome)
                    notes.append(f"ratcheted: dropped {dropped} fixed entries from the baseline")
                else:
                    notes.append(
                        f"{len(outcome.stale)} baseline entries are fixed; run with --ratchet"
                    )
    except CheckConfigError as exc:
        raise _fail_usage(str(exc)) from exc
    report = render(findings, result.files_checked, output_format)
    if output is not None:
        try:
            output.write_text(report + "\n", encoding="utf-8")
        except OSError as exc:
            raise _fail_usage(f"cannot write {output}: {exc.strerror or exc}") from exc
    else:
        typer.echo(report)
    for note in notes:
        typer.echo(note, err=True)
    raise typer.Exit(1 if findings else 0)


def migrate_command(
    paths: PathsArg = None,
    diff: Annotated[bool, typer.Option("--diff", help="Show the changes, write nothing.")] = False,
    write: Annotated[bool, typer.Option("--write", help="Rewrite the files in place.")] = False,
    config_path: ConfigOpt = None,
    jobs: JobsOpt = 0,
) -> None:
    """Rewrite legacy client construction to use the UnifiedSessionManager."""
    if diff == write:
        raise _fail_usage("choose exactly one of --diff or --write")
    try:
        config = _config(config_path)
        from tidyllm.archcheck.migrate import migrate  # LibCST: ~0.35 s, only for this command

        result = migrate(paths or [Path(".")], write=write, config=config, jobs=jobs)
    except CheckConfigError as exc:
        raise _fail_usage(str(exc)) from exc
    for change in result.changes:
        if change.error:
            typer.echo(f"{change.path}: skipped: {change.error}", err=True)
        elif change.changed and diff:
            typer.echo(change.diff, nl=False)
    rewrites = sum(c.rewrites for c in result.changes)
    todos = sum(c.todos for c in result.changes)
    verb = "rewrote" if write else "would rewrite"
    typer.echo(
        f"{verb} {len(result.changed)} files ({rewrites} rewrites, {todos} TODOs added); "
        f"{len(result.errors)} skipped",
        err=True,
    )
    if result.errors:
        raise typer.Exit(1)
    raise typer.Exit(1 if (diff and result.changed) else 0)
