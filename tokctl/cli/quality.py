"""``tokctl quality``: latency, time to first token, throughput, errors and availability from usage logs."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from tokctl.cli.options import FormatOption, OutputOption
from tokctl.render import Column, Report, Section

_METRIC_COLUMNS = [
    Column("requests", "requests", True),
    Column("errors", "errors", True),
    Column("error_rate", "error rate", True),
    Column("latency_p50_s", "latency p50 s", True),
    Column("latency_p95_s", "p95 s", True),
    Column("latency_p99_s", "p99 s", True),
    Column("ttft_p50_s", "TTFT p50 s", True),
    Column("ttft_p95_s", "TTFT p95 s", True),
    Column("output_tps_p50", "out tok/s p50", True),
    Column("availability", "availability", True),
]
_CLASS_COLUMNS = [Column(f"error_rate_{c}", c, True) for c in ("4xx", "5xx", "timeout", "rate_limited", "cut", "other")]
_BAR_WIDTH = 40


def register(app: typer.Typer) -> None:
    app.command("quality")(quality_command)


def quality_command(
    logs: Annotated[list[str], typer.Argument(help="Usage log files, directories or globs.", show_default=False)],
    by: Annotated[
        str, typer.Option("--by", help="Group by these columns, comma-separated ('none': one group).")
    ] = "provider,model",
    window: Annotated[str | None, typer.Option("--window", help="Time windows, e.g. 15m, 1h, 1d (UTC).")] = None,
    sla: Annotated[
        str | None,
        typer.Option(
            "--sla",
            help="Clauses every group must meet, e.g. 'ttft_p95<=2s,error_rate<=1%'; exit 1 if one fails.",
        ),
    ] = None,
    source: Annotated[str | None, typer.Option("--source", help="Read every file as this format.")] = None,
    fmt: FormatOption = None,
    output: OutputOption = None,
) -> None:
    """Service quality per provider and model: errors by class, latency, TTFT, output speed, availability."""
    from tokctl.render import info, render
    from tokctl.service_quality.metrics import quality

    keys = () if by.strip().lower() == "none" else tuple(by.split(","))
    result = quality(logs, source=source, by=keys, window=window, sla=sla)
    if result.read_line:
        info(result.read_line)
    render(quality_report(result), fmt, output)
    if result.sla_failed:
        raise typer.Exit(1)


def quality_report(result: Any) -> Report:
    keys = [*result.by, *(["window_start"] if result.window else [])]
    columns = [Column(k, k.replace("_", " ")) for k in keys] + _METRIC_COLUMNS
    sections = [
        Section(
            "errors by class (fraction of requests)",
            [Column(k, k) for k in keys] + _CLASS_COLUMNS,
            result.rows,
        )
    ]
    if result.sla:
        sla_columns = [Column(k, k.replace("_", " ")) for k in keys]
        sla_columns += [Column("clause", "clause"), Column("value", "value", True), Column("pass", "pass")]
        sections.append(Section("SLA", sla_columns, result.sla))
    return Report(
        doc=result.doc(),
        rows=result.rows,
        columns=columns,
        title="service quality",
        notes=_notes(result),
        sections=sections,
        extra=lambda console: _latency_chart(console, result),
    )


def _notes(result: Any) -> list[str]:
    acc = result.accounting
    notes = [
        f"{acc['records']:,} requests, {acc['successful']:,} successful; latency measured on successful requests only."
    ]
    untimed = {name: acc[f"without_{name}"] for name in ("latency", "ttft", "output_tps")}
    if any(untimed.values()):
        notes.append(
            "successful requests without timing (counted, not measured): "
            + ", ".join(f"{n:,} without {name}" for name, n in untimed.items() if n)
        )
    if acc["sketched_rows"]:
        notes.append(f"{acc['sketched_rows']} rows use sketched percentiles ({acc['percentiles']}).")
    failed = sum(1 for entry in result.sla if entry["pass"] is False)
    unknown = sum(1 for entry in result.sla if entry["pass"] is None)
    if result.sla:
        notes.append(
            f"SLA: {failed} of {len(result.sla)} checks failed" + (f", {unknown} without data" if unknown else "") + "."
        )
    return notes


def _latency_chart(console: Any, result: Any) -> None:
    """Latency per row: solid to p50, shaded to p95, scaled to the largest p95."""
    from rich.text import Text

    rows = [r for r in result.rows if r["latency_p50_s"] is not None]
    if not rows:
        return
    scale = max(r["latency_p95_s"] for r in rows) or 1.0
    labels = [_label(r, result) for r in rows]
    width = max(len(label) for label in labels)
    console.print(
        Text(
            "latency per " + ("window" if result.window else "group") + f" (█ p50, ░ to p95; full bar = {scale:.3g} s)",
            style="bold",
        )
    )
    for label, row in zip(labels, rows, strict=True):
        p50 = round(row["latency_p50_s"] / scale * _BAR_WIDTH)
        p95 = max(round(row["latency_p95_s"] / scale * _BAR_WIDTH), p50)
        line = Text(label.ljust(width) + " ")
        line.append("█" * p50, style="green")
        line.append("░" * (p95 - p50), style="yellow")
        line.append(" " * (_BAR_WIDTH - p95) + f" {row['latency_p50_s']:.3g} / {row['latency_p95_s']:.3g} s")
        console.print(line)


def _label(row: dict[str, Any], result: Any) -> str:
    parts = [str(row.get(k) or "-") for k in result.by]
    if result.window:
        start = row.get("window_start")
        parts.append(start.strftime("%Y-%m-%d %H:%M") if start else "no time")
    return " ".join(parts)
