"""``tokctl count``: tokens in files, directories, stdin and chat transcripts."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from tokctl.cli.options import FormatOption, OutputOption


class By(str, Enum):
    total = "total"
    file = "file"


def register(app: typer.Typer) -> None:
    app.command("count")(count)


def count(
    paths: Annotated[Optional[list[str]], typer.Argument(help="Files, directories (recursive) or - for stdin.")] = None,  # noqa: UP045
    model: Annotated[Optional[list[str]], typer.Option("--model", "-m", help="Model to count for (repeatable).")] = None,  # noqa: UP045
    tokenizer: Annotated[Optional[list[str]], typer.Option("--tokenizer", "-t", help="Tokenizer id (repeatable).")] = None,  # noqa: UP045
    provider: Annotated[Optional[str], typer.Option("--provider", "-p", help="Billing platform of the models.")] = None,  # noqa: UP045
    by: Annotated[By, typer.Option("--by", help="One row per model (total) or per file and model.")] = By.total,
    include: Annotated[Optional[list[str]], typer.Option("--include", help="Glob of files to count in directories.")] = None,  # noqa: UP045
    exclude: Annotated[Optional[list[str]], typer.Option("--exclude", help="Glob of files or directories to skip.")] = None,  # noqa: UP045
    chat: Annotated[Optional[Path], typer.Option("--chat", help="Count a chat transcript (OpenAI messages JSON/JSONL) with the model's chat overhead.")] = None,  # noqa: UP045
    fmt: FormatOption = None,
    output: OutputOption = None,
) -> None:
    """Count tokens exactly with each vendor's tokenizer, or as a labelled estimate with its error band."""
    from tokctl.cli.count_render import chat_report, count_report, exit_code
    from tokctl.counting import count_paths
    from tokctl.errors import UsageError
    from tokctl.render import render

    if chat is not None:
        from tokctl.chat import count_chat_file

        if paths:
            raise UsageError("--chat takes the transcript itself; give no other paths")
        render(chat_report(count_chat_file(chat, model or [], provider)), fmt, output)
        return
    if not paths:
        raise UsageError("nothing to count", fix="give a file, a directory, or - for stdin")
    result = count_paths(paths, model or [], tokenizer or [], provider=provider, include=include,
                         exclude=exclude, progress=_progress())
    render(count_report(result, by.value), fmt, output)
    raise typer.Exit(exit_code(result))


def _progress() -> None:
    # Progress goes to stderr only on a terminal; counting is fast enough that a byte tally suffices.
    return None
