"""``tokctl count``: tokens in files, directories, stdin and chat transcripts."""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from tokctl.cli.options import FormatOption, OutputOption


class By(str, Enum):
    total = "total"
    file = "file"


def register(app: typer.Typer) -> None:
    app.command("count")(count)


def count(
    paths: Annotated[list[str] | None, typer.Argument(help="Files, directories (recursive) or - for stdin.")] = None,
    model: Annotated[list[str] | None, typer.Option("--model", "-m", help="Model to count for (repeatable).")] = None,
    tokenizer: Annotated[list[str] | None, typer.Option("--tokenizer", "-t", help="Tokenizer id (repeatable).")] = None,
    provider: Annotated[str | None, typer.Option("--provider", "-p", help="Billing platform of the models.")] = None,
    by: Annotated[By, typer.Option("--by", help="One row per model (total) or per file and model.")] = By.total,
    include: Annotated[
        list[str] | None, typer.Option("--include", help="Glob of files to count in directories.")
    ] = None,
    exclude: Annotated[
        list[str] | None, typer.Option("--exclude", help="Glob of files or directories to skip.")
    ] = None,
    chat: Annotated[
        Path | None,
        typer.Option(
            "--chat",
            help="Count a chat transcript (OpenAI messages JSON/JSONL) with the model's chat overhead.",
        ),
    ] = None,
    fmt: FormatOption = None,
    output: OutputOption = None,
) -> None:
    """Count tokens exactly with each vendor's tokenizer, or as a labelled estimate with its error band."""
    from tokctl.cli.count_render import chat_report, count_report, exit_code
    from tokctl.counting.api import count_paths
    from tokctl.errors import InputFormatError, UsageError
    from tokctl.render import render

    if chat is not None:
        from tokctl.counting.chat import count_chat_file

        if paths:
            raise UsageError("--chat takes the transcript itself; give no other paths")
        render(chat_report(count_chat_file(chat, model or [], provider)), fmt, output)
        return
    if not paths:
        raise UsageError("nothing to count", fix="give a file, a directory, or - for stdin")
    progress = _progress()
    result = count_paths(
        paths,
        model or [],
        tokenizer or [],
        provider=provider,
        include=include,
        exclude=exclude,
        progress=progress,
    )
    if progress is not None:
        typer.echo("\r\033[K", err=True, nl=False)
    if not result.files and result.skipped:  # exit 2 means nothing was produced: no zero-token report, no output file
        first = result.skipped[0]
        more = f" (and {len(result.skipped) - 1} more input(s) skipped)" if len(result.skipped) > 1 else ""
        raise InputFormatError(f"nothing to count: {first.path}: {first.reason}{more}", fix="give text files")
    render(count_report(result, by.value), fmt, output)
    raise typer.Exit(exit_code(result))


def _progress() -> Callable[[int], None] | None:
    """A running tally on stderr, only when stderr is a terminal (never in pipes or files)."""
    import sys

    if not sys.stderr.isatty():
        return None
    state = {"files": 0, "bytes": 0}

    def tick(file_bytes: int) -> None:
        state["files"] += 1
        state["bytes"] += file_bytes
        sys.stderr.write(f"\rcounted {state['files']:,} files, {state['bytes'] / 1e6:,.1f} MB")
        sys.stderr.flush()

    return tick
