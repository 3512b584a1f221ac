"""``tidyllm domains``, ``ingest``, ``search``, ``ask``, ``chat``, ``eval``: thin calls."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from tidyllm.cli.deferred import UnifiedSessionManager
from tidyllm.cli.filters import (
    AuthorOption,
    CollectionOption,
    IdentifierOption,
    TagOption,
    YearOption,
)
from tidyllm.cli.filters import where as metadata_filter
from tidyllm.cli.output import console, err_console
from tidyllm.errors import KnowledgeError
from tidyllm.redaction import redact

domains_app = typer.Typer(help="Knowledge domains: create, list, show, delete, sync.")
domains_app.info.no_args_is_help = True

FilterOption = Annotated[
    list[str] | None,
    typer.Option("--filter", "-f", help="Metadata filter key=value (repeatable; all must match)."),
]


def _filters(expressions: list[str] | None) -> dict[str, str]:
    from tidyllm.knowledge.search import parse_filter

    return dict(parse_filter(e) for e in expressions or [])


def _out(text: object) -> str:
    """Untrusted text (document content, names) made safe for Rich and free of secrets."""
    return escape(redact(str(text)))


# --- domains ---------------------------------------------------------------------------------


@domains_app.command("create")
def domains_create(
    name: Annotated[str, typer.Argument(help="Domain name (lower-case letters, digits, - _).")],
    description: Annotated[str, typer.Option(help="What the domain holds.")] = "",
    embedder: Annotated[
        str | None, typer.Option(help="Expected embedder name (default: the configured one).")
    ] = None,
    chunk_size: Annotated[int, typer.Option(help="Tokens per chunk.")] = 200,
    overlap: Annotated[int, typer.Option(help="Tokens repeated between chunks.")] = 30,
    language: Annotated[
        str, typer.Option(help="Full-text configuration: english, simple (mixed), german, ...")
    ] = "english",
    ocr: Annotated[
        bool,
        typer.Option(help="OCR scanned pages of files ingested into it (needs the OCR extra)."),
    ] = False,
) -> None:
    """Create a knowledge domain; its embedder and chunking are fixed from now on."""
    from tidyllm.knowledge import create_domain

    with UnifiedSessionManager() as sm:
        domain = create_domain(
            sm,
            name,
            description=description,
            embedder=embedder,
            chunk_size=chunk_size,
            overlap=overlap,
            language=language,
            ocr=ocr,
        )
    console.print(
        f"created domain {_out(domain.name)} ({_out(domain.embedder)}, {domain.dimension}-d, "
        f"chunks of {domain.chunk_size} tokens, overlap {domain.chunk_overlap}"
        f"{', OCR on' if domain.ocr else ''})"
    )


@domains_app.command("list")
def domains_list() -> None:
    """List domains with their document and chunk counts."""
    from tidyllm.knowledge import list_domains

    with UnifiedSessionManager() as sm:
        rows = list_domains(sm)
    if not rows:
        console.print("no domains yet: tidyllm domains create NAME")
        return
    table = Table("name", "documents", "chunks", "embedder", "last ingest")
    for row in rows:
        last = row.domain.last_ingest_at
        table.add_row(
            _out(row.domain.name),
            str(row.documents),
            str(row.chunks),
            _out(row.domain.embedder),
            last.isoformat(timespec="seconds") if last else "never",
        )
    console.print(table)


@domains_app.command("show")
def domains_show(name: Annotated[str, typer.Argument(help="Domain name.")]) -> None:
    """Show a domain: settings, documents, chunks, last ingest."""
    from tidyllm.knowledge import show_domain

    with UnifiedSessionManager() as sm:
        stats = show_domain(sm, name)
    d = stats.domain
    last = d.last_ingest_at.isoformat(timespec="seconds") if d.last_ingest_at else "never"
    for label, value in (
        ("name", d.name),
        ("description", d.description or "-"),
        ("embedder", f"{d.embedder} ({d.dimension}-d)"),
        ("chunking", f"{d.chunk_size} tokens, overlap {d.chunk_overlap}"),
        ("language", d.language),
        ("ocr", "on" if d.ocr else "off"),
        ("documents", stats.documents),
        ("pages", stats.pages),
        ("chunks", stats.chunks),
        ("created", d.created_at.isoformat(timespec="seconds")),
        ("last ingest", last),
    ):
        console.print(f"{label:12} {_out(value)}")


@domains_app.command("delete")
def domains_delete(
    name: Annotated[str, typer.Argument(help="Domain name.")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete a domain with all its documents, chunks and chat sessions."""
    from tidyllm.knowledge import delete_domain, show_domain

    with UnifiedSessionManager() as sm:
        stats = show_domain(sm, name)
        if not yes and not typer.confirm(
            f"delete domain {name!r} with {stats.documents} document(s) and "
            f"{stats.chunks} chunk(s)?",
            default=False,
        ):
            raise KnowledgeError(f"domain {name!r} was not deleted")
        delete_domain(sm, name)
    console.print(f"deleted domain {_out(name)}")


@domains_app.command("sync")
def domains_sync(
    name: Annotated[str, typer.Argument(help="Domain name.")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only list what would be removed.")
    ] = False,
    yes: Annotated[
        bool,
        typer.Option("--yes", "-y", help="Do not ask before removing more than half."),
    ] = False,
) -> None:
    """Remove documents whose source is gone (for dropped files: their processed/ copy)."""
    from tidyllm.knowledge.ingest import sync_domain

    def ask(plan) -> bool:  # type: ignore[no-untyped-def]
        for uri in plan.removed:
            console.print(f"would remove {_out(uri)}")
        total = len(plan.removed) + plan.kept + len(plan.unchecked)
        return typer.confirm(
            f"remove {len(plan.removed)} of the {total} documents of domain {name!r}?",
            default=False,
        )

    confirm = ask if sys.stdin.isatty() else None  # no terminal: refuse, naming --yes
    with UnifiedSessionManager() as sm:
        report = sync_domain(sm, name, dry_run=dry_run, yes=yes, confirm=confirm)
    verb = "would remove" if dry_run else "removed"
    for uri in report.removed:
        console.print(f"{verb} {_out(uri)}")
    for uri in report.unchecked:
        console.print(f"could not check {_out(uri)} (kept)")
    console.print(
        f"{verb} {len(report.removed)}, kept {report.kept}, could not check {len(report.unchecked)}"
    )


# --- ingest / search / ask / chat / eval ------------------------------------------------------


def ingest(
    domain: Annotated[str, typer.Argument(help="Domain name.")],
    sources: Annotated[list[str], typer.Argument(help="Files, folders or s3://bucket/prefix.")],
    ocr: Annotated[
        bool | None,
        typer.Option(
            "--ocr/--no-ocr",
            help="Turn the domain's OCR of scanned pages on/off (sticky; needs the OCR extra). "
            "Default: keep the domain's setting.",
            show_default=False,
        ),
    ] = None,
    track: Annotated[bool, typer.Option("--track/--no-track", help="MLflow batch runs")] = True,
    reindex: Annotated[
        bool,
        typer.Option("--reindex", help="Index again content that is already indexed (new chunks)."),
    ] = False,
) -> None:
    """Index files into a domain through its drop-zone ledger; a rerun indexes nothing twice."""
    from tidyllm.knowledge.ingest import ingest as run_ingest

    with (
        UnifiedSessionManager() as sm,
        Progress(
            SpinnerColumn(),
            TextColumn("{task.completed} file(s)"),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=err_console,
            transient=True,
        ) as progress,
    ):
        task = progress.add_task("ingesting", total=None)

        def step(item) -> None:  # type: ignore[no-untyped-def]
            progress.advance(task)
            progress.update(task, description=f"{item.state}: {_out(item.source_uri)}")
            if item.state in ("failed", "dead"):
                hint = f" ({_out(item.hint)})" if item.hint else ""
                err_console.print(
                    f"[red]{item.state}[/] {_out(item.source_uri)}: {_out(f'[{item.code}]')} "
                    f"{_out(item.error)}{hint}",
                    highlight=False,
                )

        report = run_ingest(
            sm, domain, sources, progress=step, ocr=ocr, track=track, reindex=reindex
        )
    counts = report.counts()
    others = ", ".join(
        f"{n} {state}"
        for state, n in sorted(counts.items())
        if state not in ("done", "duplicate", "failed")
    )
    console.print(
        f"{counts.get('done', 0)} done, {counts.get('duplicate', 0)} duplicate, "
        f"{counts.get('failed', 0)} failed{', ' + others if others else ''}; "
        f"{report.chunks} chunks in {report.seconds:.1f}s{'; OCR on' if report.ocr else ''}"
    )
    if report.failures:
        raise typer.Exit(1)


def search_command(
    domain: Annotated[str, typer.Argument(help="Domain name.")],
    query: Annotated[str, typer.Argument(help="What to look for.")],
    k: Annotated[int, typer.Option("--k", "-k", help="Number of results.")] = 10,
    filter_: FilterOption = None,
    mode: Annotated[str, typer.Option(help="hybrid, dense or text.")] = "hybrid",
    collection: CollectionOption = None,
    tag: TagOption = None,
    author: AuthorOption = None,
    year: YearOption = None,
    identifier: IdentifierOption = None,
) -> None:
    """Hybrid search (vector + full text) in a domain."""
    from tidyllm.knowledge import search

    flt = metadata_filter(collection, tag, author, year, identifier)
    with UnifiedSessionManager() as sm:
        result = search(
            sm,
            domain,
            query,
            k=k,
            filters=_filters(filter_),
            mode=mode,  # type: ignore[arg-type]
            where=flt,
        )
    if not result.hits:
        console.print("no results")
    for rank, hit in enumerate(result.hits, start=1):
        name = hit.title or hit.source_uri
        console.print(
            f"[bold]{rank}.[/] {_out(name)} p.{hit.page}  score {hit.score:.4f}"
            f"  (dense {_fmt(hit.dense_similarity)}, text {_fmt(hit.text_score)})"
        )
        snippet = " ".join(hit.text.split())
        console.print("   " + _out(snippet[:300] + ("..." if len(snippet) > 300 else "")))


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def print_answer(answer) -> None:  # type: ignore[no-untyped-def]
    console.print(_out(answer.text))
    if answer.citations:
        console.print("\nsources:")
        seen = set()
        for c in answer.citations:
            if c.number in seen:
                continue
            seen.add(c.number)
            console.print(f"  [{c.number}] {_out(c.title or c.source_uri)}, page {c.page}")
    if answer.dropped:
        console.print(f"({len(answer.dropped)} invalid citation(s) removed)")


def ask_command(
    domain: Annotated[str, typer.Argument(help="Domain name.")],
    question: Annotated[str, typer.Argument(help="The question.")],
    k: Annotated[int, typer.Option("--k", "-k", help="Sources to retrieve.")] = 5,
    filter_: FilterOption = None,
    collection: CollectionOption = None,
    tag: TagOption = None,
    author: AuthorOption = None,
    year: YearOption = None,
    identifier: IdentifierOption = None,
) -> None:
    """Answer a question from a domain, citing document and page."""
    from tidyllm.answering import ask

    flt = metadata_filter(collection, tag, author, year, identifier)
    with UnifiedSessionManager() as sm:
        answer = ask(sm, domain, question, k=k, filters=_filters(filter_), where=flt)
    print_answer(answer)


def chat_command(
    domain: Annotated[str, typer.Argument(help="Domain name.")],
    session: Annotated[str | None, typer.Option(help="Continue this session id.")] = None,
    collection: CollectionOption = None,
    tag: TagOption = None,
    author: AuthorOption = None,
    year: YearOption = None,
    identifier: IdentifierOption = None,
) -> None:
    """Chat with a domain; follow-up questions use the conversation (empty line or EOF ends)."""
    from tidyllm.answering.chat import chat_turn, start_chat

    # a session keeps no filters: this chat's options filter every turn it sends
    flt = metadata_filter(collection, tag, author, year, identifier)
    with UnifiedSessionManager() as sm:
        session_id = session or start_chat(sm, domain)
        err_console.print(f"session {session_id} (empty line to quit)")
        interactive = sys.stdin.isatty()
        while True:
            line = input("you> ") if interactive else sys.stdin.readline()
            if not line or not line.strip():
                break
            answer = chat_turn(sm, session_id, line.strip(), where=flt)
            print_answer(answer)
            console.print()


#: metric -> column header (short, so the table fits 80 columns; --json has every metric)
EVAL_COLUMNS = {
    "ndcg@10": "nDCG@10",
    "hit@1": "hit@1",
    "hit@5": "hit@5",
    "hit@10": "hit@10",
    "cites_page": "cites",
    "has_phrase": "phrase",
}


def eval_command(
    dataset: Annotated[
        list[Path] | None,
        typer.Option(
            "--dataset", help="BEIR-format dataset folder (repeatable; default: all of ./datasets)."
        ),
    ] = None,
    answers: Annotated[
        bool, typer.Option(help="Also ask every question that has an answer phrase.")
    ] = True,
    context: Annotated[
        bool, typer.Option(help="Index chunks with their document title and heading.")
    ] = True,
    keep: Annotated[bool, typer.Option(help="Keep the scratch domains.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    collection: CollectionOption = None,
    tag: TagOption = None,
    author: AuthorOption = None,
    year: YearOption = None,
    identifier: IdentifierOption = None,
) -> None:
    """Retrieval and answer quality per dataset, split (tune/heldout) and mode, in one table."""
    import json

    from tidyllm.knowledge.evaluation import evaluate, find_datasets

    flt = metadata_filter(collection, tag, author, year, identifier)

    folders = dataset or find_datasets(Path("datasets"))
    reports = []
    with UnifiedSessionManager() as sm:
        for folder in folders:
            with err_console.status(f"evaluating {folder}") as status:
                reports.append(
                    evaluate(
                        sm,
                        folder,
                        keep_domain=keep,
                        answers=answers,
                        contextual=context,
                        where=flt,
                        progress=lambda line, f=folder: status.update(f"{f}: {line}"),
                    )
                )
    if as_json:
        rows = [
            {"dataset": r.dataset, "split": split, "queries": r.split_sizes[split], "mode": mode}
            | values
            for r in reports
            for split, results in r.by_split.items()
            for mode, values in results.items()
        ]
        console.print_json(json.dumps(rows))
        return
    table = Table(
        title="page hits; answers that cite a right page / contain the answer",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        collapse_padding=True,
    )
    table.add_column("dataset", overflow="fold", min_width=8)
    for name in ("split", "mode", *EVAL_COLUMNS.values()):
        table.add_column(name, no_wrap=True)
    for report in reports:
        for split, results in report.by_split.items():
            for mode, values in results.items():
                cells = (f"{values[m]:.3f}" if m in values else "-" for m in EVAL_COLUMNS)
                table.add_row(_out(report.dataset), split, mode, *cells)
    console.print(table)
    for report in reports:
        where = f"MLflow run {report.run_id}" if report.run_id else "MLflow buffer (server down)"
        parts = ", ".join(f"{n} {s}" for s, n in report.split_sizes.items() if s != "all")
        sizes = f"{report.queries} queries" + (f" ({parts})" if parts else "")
        console.print(
            f"{_out(report.dataset)}: {sizes}; {report.documents} documents, "
            f"{report.chunks} chunks, {report.seconds:.1f}s; logged to {where}"
        )
