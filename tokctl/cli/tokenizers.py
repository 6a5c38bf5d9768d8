"""``tokctl tokenizers``: list, verify and pull tokenizer files."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from tokctl.cli.options import FormatOption, OutputOption

tokenizers_app = typer.Typer(help="List, verify and download tokenizer files.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(tokenizers_app, name="tokenizers")


@tokenizers_app.command("list")
def list_tokenizers(fmt: FormatOption = None, output: OutputOption = None) -> None:
    """Every tokenizer: engine, accuracy, whether it is available offline, and from where."""
    from tokctl.render import Column, Report, render
    from tokctl.tokenize.status import tokenizer_rows

    rows = tokenizer_rows()
    columns = [
        Column("id", "id"),
        Column("engine", "engine"),
        Column("accuracy", "accuracy"),
        Column("offline", "offline"),
        Column("source", "source"),
        Column("description", "description"),
    ]
    render(Report(doc={"tokenizers": rows}, rows=rows, columns=columns), fmt, output)


@tokenizers_app.command("verify")
def verify(
    ids: Annotated[Optional[list[str]], typer.Argument(help="Tokenizer ids (default: all).")] = None,  # noqa: UP045
    fmt: FormatOption = None,
    output: OutputOption = None,
) -> None:
    """Check every tokenizer file against the sha256 its manifest pins. Exit 1 when any fails."""
    from tokctl.render import Column, Report, render
    from tokctl.tokenize.status import verify_tokenizers

    rows = verify_tokenizers(ids or [])
    columns = [
        Column("id", "id"),
        Column("file", "file"),
        Column("status", "status"),
        Column("detail", "detail"),
    ]
    render(Report(doc={"files": rows}, rows=rows, columns=columns), fmt, output)
    raise typer.Exit(0 if all(r["status"] in ("ok", "n/a") for r in rows) else 1)


@tokenizers_app.command("pull")
def pull(
    ids: Annotated[list[str], typer.Argument(help="Tokenizer ids to download.")],
    timeout: Annotated[float, typer.Option(help="Seconds to wait for each download.")] = 30.0,
) -> None:
    """Download tokenizer files that are not available offline (uses the network), verify and cache them."""
    from tokctl.registry.tokenizers import get_tokenizer
    from tokctl.render import info
    from tokctl.tokenize.tokenizer_files import pull as pull_files

    for tid in ids:
        written = pull_files(get_tokenizer(tid), timeout=timeout)
        info(f"{tid}: {'downloaded ' + ', '.join(map(str, written)) if written else 'already available offline'}")
