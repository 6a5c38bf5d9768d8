"""``tokctl usage report`` and ``tokctl usage export``: usage logs of any vendor, priced, summed or exported."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any

import typer

from tokctl.cli.options import FormatOption, OutputOption
from tokctl.render import Column, Report, Section

_LOGS = typer.Argument(
    help="Usage log files, directories or globs (plain, .gz, .zst), or tokctl Parquet files and datasets.",
    show_default=False,
)
_SOURCE = typer.Option("--source", help="Accept only this log family (default: detect per record).")
_MAPPING = typer.Option("--mapping", help="Column mapping TOML for --source generic (CSV or JSON lines).")
_STRICT = typer.Option("--strict", help="Stop at the first bad record (exit 2) instead of counting it.")
_AT = typer.Option(
    "--at",
    help="Price records that carry no timestamp (raw API responses) at this moment "
    "(ISO 8601 with offset; a bare date is 00:00 UTC).",
)
_WORKERS = typer.Option("--workers", help="Parsing processes (default: by input size, TOKCTL_WORKERS).")
_ENGINE = typer.Option("--engine", help="local (this machine) or spark (pip install 'tokctl[spark]'; docs/spark.md).")
_MASTER = typer.Option("--master", help="Spark master URL with --engine spark (default local[*], or spark-submit's).")
_SUMS = [
    Column("requests", "requests", True),
    Column("input_tokens", "input", True),
    Column("cache_read_tokens", "cache read", True),
    Column("cache_write_tokens", "cache write", True),
    Column("output_tokens", "output", True),
    Column("reasoning_tokens", "reasoning", True),
    Column("cost", "cost", True),
    Column("currency", "currency"),
]

usage_app = typer.Typer(help="Usage logs from every vendor and gateway: report and export.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(usage_app, name="usage")


@usage_app.command("report")
def report_command(
    logs: Annotated[list[str], _LOGS],
    by: Annotated[
        list[str] | None,
        typer.Option("--by", help="day|week|month|provider|model|project|api_key|user|tag:NAME (repeat or comma)."),
    ] = None,
    since: Annotated[str | None, typer.Option("--since", help="From this date/time (inclusive, in --tz).")] = None,
    until: Annotated[str | None, typer.Option("--until", help="Up to this date/time (exclusive, in --tz).")] = None,
    tz: Annotated[str, typer.Option("--tz", help="Time zone of day/week/month boundaries.")] = "UTC",
    currency: Annotated[str | None, typer.Option("--currency", help="Convert costs to this currency.")] = None,
    fx_file: Annotated[Path | None, typer.Option("--fx-file", help="Extra rates: date,from,to,rate.")] = None,
    source: Annotated[str | None, _SOURCE] = None,
    mapping: Annotated[Path | None, _MAPPING] = None,
    strict: Annotated[bool, _STRICT] = False,
    workers: Annotated[int | None, _WORKERS] = None,
    at: Annotated[str | None, _AT] = None,
    provider: Annotated[
        list[str] | None, typer.Option("--provider", help="Only these billing platforms (repeat or comma).")
    ] = None,
    engine: Annotated[str, _ENGINE] = "local",
    master: Annotated[str | None, _MASTER] = None,
    fmt: FormatOption = None,
    output: OutputOption = None,
) -> None:
    """Tokens and cost per group, totals per currency; unpriced records listed by model."""
    from tokctl.render import info, render
    from tokctl.usage.report import report_usage

    if _spark(engine, master):
        from tokctl.engines.spark_usage import report_usage as spark_report

        if provider:
            from tokctl.errors import UsageError

            raise UsageError("--provider is not supported with --engine spark yet", fix="leave out --provider")

        summary, accounting = spark_report(
            logs, by, source=source, strict=strict, mapping=mapping, since=since, until=until, tz=tz,
            currency=currency, fx_file=fx_file, at=at, master=master,
        )  # fmt: skip
        info(accounting.line())
        render(_report(summary, accounting.to_dict()), fmt, output)
        return
    with _progress() as progress:
        summary, accounting = report_usage(
            logs,
            by,
            source=source,
            strict=strict,
            mapping=mapping,
            since=since,
            until=until,
            tz=tz,
            currency=currency,
            fx_file=fx_file,
            progress=progress,
            workers=workers,
            at=at,
            provider=provider,
        )
    info(accounting.line())
    render(_report(summary, accounting.to_dict()), fmt, output)


@usage_app.command("export")
def export_command(
    logs: Annotated[list[str], _LOGS],
    output: Annotated[
        Path, typer.Option("--output", "-o", help="File (.parquet, .csv, .jsonl) or dataset directory to write.")
    ],
    export_format: Annotated[
        str | None, typer.Option("--format", help="parquet, csv or jsonl (default: from the -o suffix).")
    ] = None,
    partition_by: Annotated[
        str | None, typer.Option("--partition-by", help="Hive partitions, e.g. usage_date,provider.")
    ] = None,
    focus: Annotated[bool, typer.Option("--focus", help="Write FinOps FOCUS 1.2 cost rows instead.")] = False,
    source: Annotated[str | None, _SOURCE] = None,
    mapping: Annotated[Path | None, _MAPPING] = None,
    strict: Annotated[bool, _STRICT] = False,
    workers: Annotated[int | None, _WORKERS] = None,
    at: Annotated[str | None, _AT] = None,
    engine: Annotated[str, _ENGINE] = "local",
    master: Annotated[str | None, _MASTER] = None,
) -> None:
    """The priced canonical usage table (or FOCUS rows) as Parquet, written atomically."""
    from tokctl.render import info
    from tokctl.usage.export import export_usage

    if _spark(engine, master):
        from tokctl.engines.spark_usage import export_usage as spark_export

        accounting = spark_export(
            logs, output, source=source, strict=strict, mapping=mapping, partition_by=partition_by, focus=focus,
            at=at, master=master,
        )  # fmt: skip
        info(accounting.line())
        info(f"wrote {output}")
        return
    with _progress() as progress:
        accounting = export_usage(
            logs,
            output,
            source=source,
            strict=strict,
            mapping=mapping,
            partition_by=partition_by,
            focus=focus,
            progress=progress,
            workers=workers,
            at=at,
            fmt=export_format,
        )
    info(accounting.line())
    info(f"wrote {output}")


def _spark(engine: str, master: str | None) -> bool:
    """Whether --engine asks for Spark (checked: a typo must not silently run on one machine)."""
    from tokctl.errors import UnknownNameError, UsageError

    if engine not in ("local", "spark"):
        raise UnknownNameError(engine, ["local", "spark"], fix="use --engine local or --engine spark")
    if master is not None and engine != "spark":
        raise UsageError("--master needs --engine spark", fix="add --engine spark or leave out --master")
    if engine == "spark":
        import importlib.util

        if importlib.util.find_spec("pyspark") is None:
            raise UsageError("--engine spark needs pyspark", fix="pip install 'tokctl[spark]' (and Java 17+)")
    return engine == "spark"


def _report(summary: Any, accounting: dict[str, Any]) -> Report:
    keys = [Column(k.replace(":", "_"), k) for k in summary.by]
    notes = [f"fx: 1 {r['from']} = {r['rate']} {r['to']} (rate of {r['rate_date']}; {r['source']})" for r in summary.fx]
    unpriced = Section(
        "Unpriced (no cost computed), by model",
        [
            Column("provider", "provider"),
            Column("model", "model"),
            Column("requests", "requests", True),
            Column("input_tokens", "input", True),
            Column("output_tokens", "output", True),
            Column("reasons", "why"),
        ],
        summary.unpriced,
    )
    return Report(
        doc=summary.to_dict(accounting),
        arrow=lambda: _rows_table(summary),
        rows=summary.rows,
        columns=[*keys, *_SUMS],
        title="Usage by " + ", ".join(summary.by),
        notes=notes,
        sections=[Section("Totals per currency", _SUMS, summary.totals), *([unpriced] if summary.unpriced else [])],
    )


def _rows_table(summary: Any) -> Any:
    """The report rows as Arrow with exact types (costs stay decimal128(38, 12))."""
    import pyarrow as pa

    from tokctl.schema import money_type

    keys = {k.replace(":", "_"): pa.string() for k in summary.by}
    types = {
        **keys,
        "requests": pa.int64(),
        **{c.key: pa.int64() for c in _SUMS[1:6]},
        "cost": money_type(),
        "currency": pa.string(),
    }
    return pa.table({name: pa.array([row[name] for row in summary.rows], kind) for name, kind in types.items()})


@contextlib.contextmanager
def _progress() -> Iterator[Callable[[int, int], None] | None]:
    """A progress bar on stderr when it is a terminal; nothing otherwise."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn

    with Progress(
        "reading", BarColumn(), DownloadColumn(), TimeRemainingColumn(), console=Console(stderr=True), transient=True
    ) as bar:
        task = bar.add_task("reading", total=None)
        yield lambda done, total: bar.update(task, completed=done, total=total or None)


@usage_app.command("ingest")
def ingest_command(
    logs: Annotated[list[str], typer.Argument(help="Usage log files, directories or globs.", show_default=False)],
    into: Annotated[Path, typer.Option("--into", help="The dataset directory to add to (created if new).")],
    source: Annotated[str | None, _SOURCE] = None,
    mapping: Annotated[Path | None, _MAPPING] = None,
    strict: Annotated[bool, _STRICT] = False,
    workers: Annotated[int | None, _WORKERS] = None,
    at: Annotated[str | None, _AT] = None,
) -> None:
    """Add the records not yet in DATASET, once each; unchanged files are skipped unread; one atomic commit."""
    from tokctl.render import info
    from tokctl.usage.ingest_into import ingest_into

    with _progress() as progress:
        result = ingest_into(
            logs, into, source=source, strict=strict, mapping=mapping, workers=workers, at=at, progress=progress
        )
    if result.read_files:
        info(result.accounting.line())
    info(result.line())


@usage_app.command("reprice")
def reprice_command(
    dataset: Annotated[Path, typer.Argument(help="A dataset written by tokctl usage ingest.", show_default=False)],
    at: Annotated[str | None, _AT] = None,
) -> None:
    """Price every stored record again with today's price registry; rewrites the cost columns only."""
    from tokctl.render import info
    from tokctl.usage.reprice import reprice

    info(reprice(dataset, at=at).line())
