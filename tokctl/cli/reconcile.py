"""``tokctl reconcile``: vendor bills and usage exports against your own logs, every difference explained."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated

import typer

from tokctl.cli.options import FormatOption, OutputOption


def register(app: typer.Typer) -> None:
    app.command("reconcile")(reconcile_command)


def reconcile_command(
    bill: Annotated[list[Path], typer.Option("--bill", help="Bill or usage export (JSON, CSV, Parquet); repeat.")],
    logs: Annotated[list[str], typer.Option("--logs", help="Usage log files, directories or globs; repeat.")],
    bill_format: Annotated[
        str | None, typer.Option("--bill-format", help="openai.costs, anthropic.cost_report, focus, aws.cur, ...")
    ] = None,
    mapping: Annotated[str | None, typer.Option("--mapping", help="CSV bill mapping: id or .toml path.")] = None,
    source: Annotated[str | None, typer.Option("--source", help="Read every log file as this format.")] = None,
    tolerance: Annotated[str, typer.Option("--tolerance", help="0.5% of expected, or an amount.")] = "0.5%",
    by: Annotated[
        list[str] | None, typer.Option("--by", help="Grain: day|month,model,token_class,project,api_key.")
    ] = None,
    tz: Annotated[str | None, typer.Option("--tz", help="Day boundaries in this zone (default: the bill's).")] = None,
    fx_file: Annotated[Path | None, typer.Option("--fx-file", help="Exchange rates CSV date,from,to,rate.")] = None,
    fail_over: Annotated[
        str | None, typer.Option("--fail-over", help="Exit 1 only if mismatches add up to more than this.")
    ] = None,
    strict: Annotated[bool, typer.Option("--strict", help="Stop at the first bad bill line or log record.")] = False,
    service: Annotated[
        list[str] | None,
        typer.Option(
            "--service",
            help="Reconcile only this service or provider of the bill (repeat); "
            "default: every AI service, the rest listed as out of scope.",
        ),
    ] = None,
    fmt: FormatOption = None,
    output: OutputOption = None,
) -> None:
    """Match bills line by line against your logs; exit 0 if every cell is within tolerance, 1 if not."""
    from tokctl.cli.reconcile_render import report
    from tokctl.errors import UsageError
    from tokctl.reconciliation.report import run
    from tokctl.render import OutputFormat, infer_format, info, render

    try:
        limit = Decimal(fail_over) if fail_over is not None else None
    except InvalidOperation:
        raise UsageError(f"--fail-over {fail_over!r} is not an amount", fix="write e.g. --fail-over 5") from None
    outcome = run(bill, logs, bill_format=bill_format, mapping=mapping, source=source, tolerance=tolerance,
                  by=by, tz=tz, fx_file=fx_file, strict=strict, services=service)  # fmt: skip
    for line in outcome.stderr:
        info(line)
    render(report(outcome, compact=infer_format(fmt, output) is OutputFormat.table), fmt, output)
    failed = outcome.result.over(limit) if limit is not None else not outcome.result.ok
    raise typer.Exit(1 if failed else 0)
