"""``tokctl price``: the cost of a usage on a model at a moment, in the platform's currency."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from tokctl.cli.options import FormatOption

UNPRICED_EXIT = 3
# --output is the output token count here (as in the usage record), so the file option is -o/--output-file.
OutputFileOption = Annotated[
    Optional[Path],  # noqa: UP045
    typer.Option("--output-file", "-o", help="Write the result to this file, atomically, instead of stdout."),
]


def register(app: typer.Typer) -> None:
    app.command("price")(price_command)


def _tokens(flag: str, text: str) -> int:
    return typer.Option(flag, min=0, help=text)  # type: ignore[no-any-return]


def price_command(
    model: Annotated[str, typer.Option("--model", "-m", help="Model id or alias; PLATFORM/MODEL names both.")],
    provider: Annotated[Optional[str], typer.Option("--provider", help="Billing platform, e.g. deepseek-cn.")] = None,  # noqa: UP045
    input_tokens: Annotated[int, _tokens("--input", "All input tokens, cache reads and writes included.")] = 0,
    output_tokens: Annotated[int, _tokens("--output", "All output tokens, reasoning included.")] = 0,
    cache_read: Annotated[int, _tokens("--cache-read", "Input tokens read from cache (part of --input).")] = 0,
    cache_write: Annotated[int, _tokens("--cache-write", "Input written to cache, default TTL (part of --input).")] = 0,
    cache_write_1h: Annotated[
        int, _tokens("--cache-write-1h", "Input written with a 1-hour TTL (part of --input).")
    ] = 0,
    reasoning: Annotated[int, _tokens("--reasoning", "Reasoning tokens (part of --output).")] = 0,
    batch: Annotated[bool, typer.Option("--batch", help="Price as a batch request.")] = False,
    service_tier: Annotated[Optional[str], typer.Option("--service-tier", help="flex, priority, ...")] = None,  # noqa: UP045
    at: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option("--at", help="ISO 8601 with offset; a bare date is 00:00 in the platform's zone (default: now)."),
    ] = None,
    currency: Annotated[Optional[str], typer.Option("--currency", help="Also convert at a dated rate.")] = None,  # noqa: UP045
    fx_file: Annotated[Optional[Path], typer.Option("--fx-file", help="Your own rates: date,from,to,rate CSV.")] = None,  # noqa: UP045
    fmt: FormatOption = None,
    output_file: OutputFileOption = None,
) -> None:
    """What a request costs: each token class x its unit price, and the price row used. Exit 3 when unpriced."""
    from tokctl.cli.price_render import price_report
    from tokctl.pricing.quote import quote
    from tokctl.pricing.types import Usage
    from tokctl.render import info, render

    usage = Usage(input_tokens, cache_read, cache_write, cache_write_1h, output_tokens, reasoning)
    result = quote(usage, model, provider, at, service_tier, batch, currency, fx_file)
    if not result.cost.priced:
        info(f"unpriced: {result.cost.reason} ({result.cost.unpriced})")
        raise typer.Exit(UNPRICED_EXIT)
    render(price_report(result, fmt), fmt, output_file)
