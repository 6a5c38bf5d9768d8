"""``tokctl audit``: billed token counts against a local recount of the logged requests and responses."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from tokctl.cli.options import FormatOption, OutputOption
from tokctl.render import Column, Report, Section

_COLUMNS = [
    Column("provider", "provider"),
    Column("model", "model"),
    Column("direction", "direction"),
    Column("tokenizer", "tokenizer"),
    Column("accuracy", "accuracy"),
    Column("records", "records", True),
    Column("billed_tokens", "billed", True),
    Column("local_tokens", "local", True),
    Column("mean_drift", "mean drift", True),
    Column("stdev_drift", "stdev", True),
    Column("min_drift", "min", True),
    Column("max_drift", "max", True),
    Column("tolerance", "tolerance", True),
    Column("beyond_tolerance", "beyond", True),
]
_BEYOND = [
    Column("location", "file:line"),
    Column("record", "record id"),
    Column("model", "model"),
    Column("direction", "direction"),
    Column("billed", "billed", True),
    Column("local", "local", True),
    Column("drift", "drift", True),
]
_SKIPPED = [Column("reason", "not audited"), Column("count", "records", True), Column("first", "first at")]
_CALIBRATIONS = [
    Column("tokenizer", "tokenizer"),
    Column("factor", "factor", True),
    Column("ci_low", "95% low", True),
    Column("ci_high", "95% high", True),
    Column("interval", "interval"),
    Column("samples", "samples", True),
]


def register(app: typer.Typer) -> None:
    app.command("audit")(audit_command)


def audit_command(
    logs: Annotated[list[str], typer.Argument(help="Logs that carry request messages and response text.")],
    model: Annotated[str | None, typer.Option("--model", "-m", help="Audit only this model.")] = None,
    tolerance: Annotated[str, typer.Option("--tolerance", help="Flag records whose drift exceeds this.")] = "2%",
    calibrate: Annotated[
        bool,
        typer.Option(
            "--calibrate",
            help="Fit estimate tokenizers' factors from these logs and save them to the user config.",
        ),
    ] = False,
    source: Annotated[str | None, typer.Option("--source", help="Read every file as this format.")] = None,
    fmt: FormatOption = None,
    output: OutputOption = None,
) -> None:
    """Recount logged requests and responses locally and compare with the billed token counts.

    Exit code 1 when a record's drift is beyond the tolerance.
    """
    from tokctl.count_audit.audit import audit
    from tokctl.render import info, render

    result = audit(logs, model=model, tolerance=tolerance, source=source, calibrate=calibrate)
    if result.read_line:
        info(result.read_line)
    render(audit_report(result), fmt, output)
    if result.beyond:
        raise typer.Exit(1)


def audit_report(result: Any) -> Report:
    sections = []
    if result.beyond:
        sections.append(Section(f"records beyond tolerance ({len(result.beyond)})", _BEYOND, result.beyond))
    if result.calibrations:
        sections.append(Section("calibrations saved", _CALIBRATIONS, result.calibrations))
    if result.skipped:
        sections.append(Section("not audited", _SKIPPED, result.skipped))
    notes = [
        f"drift = (billed - local) / local; {result.records:,} usage records read; tolerance "
        f"{result.tolerance:.2%} (an estimate's own error band when larger)."
    ]
    notes += result.notes
    return Report(
        doc=result.doc(),
        rows=result.models,
        columns=_COLUMNS,
        title="billed vs local token counts",
        notes=notes,
        sections=sections,
    )
