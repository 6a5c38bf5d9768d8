"""``tokctl compare``: the same content across vendors, in tokens, money and cost per million characters."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from tokctl.cli.options import FormatOption, OutputOption


def register(app: typer.Typer) -> None:
    app.command("compare")(compare)


def compare(
    paths: Annotated[list[str], typer.Argument(help="Files, directories or - for stdin: the content to compare.")],
    model: Annotated[
        list[str] | None,
        typer.Option("--model", "-m", help="Model (repeatable); PLATFORM/MODEL names the platform."),
    ] = None,
    preset: Annotated[
        str | None,
        typer.Option("--preset", help="A model list from the registry: popular, china, west, flagship, budget."),
    ] = None,
    output_tokens: Annotated[Optional[int], typer.Option("--output-tokens", help="Output tokens per request.")] = None,  # noqa: UP045
    output_ratio: Annotated[
        str | None, typer.Option("--output-ratio", help="Output tokens as a ratio of input tokens.")
    ] = None,
    requests: Annotated[int, typer.Option("--requests", help="Multiply the costs by this many requests.")] = 1,
    currency: Annotated[str | None, typer.Option("--currency", help="Add a column converted at a dated rate.")] = None,
    at: Annotated[
        str | None, typer.Option("--at", help="Price at this moment (ISO 8601 with offset; default now).")
    ] = None,
    baseline: Annotated[
        str | None, typer.Option("--baseline", help="Model the token ratios refer to (default: the first).")
    ] = None,
    batch: Annotated[bool, typer.Option("--batch", help="Price as batch requests.")] = False,
    service_tier: Annotated[Optional[str], typer.Option("--service-tier", help="flex, priority, ...")] = None,  # noqa: UP045
    fx_file: Annotated[Optional[Path], typer.Option("--fx-file", help="Your own rates: date,from,to,rate CSV.")] = None,  # noqa: UP045
    fmt: FormatOption = None,
    output: OutputOption = None,
) -> None:
    """Tokens, cost and cost per 1M characters of the same content for each model, cheapest first."""
    import datetime as dt

    from tokctl.cli.compare_render import compare_report
    from tokctl.counting.compare import compare as run_compare
    from tokctl.pricing.types import parse_at
    from tokctl.render import render

    moment = parse_at(at, dt.UTC) if at else None
    result = run_compare(
        paths,
        model or [],
        preset=preset,
        output_tokens=output_tokens,
        output_ratio=output_ratio,
        requests=requests,
        currency=currency,
        at=moment,
        baseline=baseline,
        batch=batch,
        service_tier=service_tier,
        fx_file=fx_file,
    )
    render(compare_report(result), fmt, output)
