"""The one place that prints results: table (rich), json, jsonl, csv, and Parquet through export.py.

Every command builds a :class:`Report` (a stable JSON document plus the primary table of rows) and hands it
to :func:`render`. stdout carries only the result; warnings and progress go to stderr.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import IO, Any

from tokctl.errors import UsageError


class OutputFormat(str, Enum):
    table = "table"
    json = "json"
    jsonl = "jsonl"
    csv = "csv"
    parquet = "parquet"


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    numeric: bool = False


@dataclass
class Section:
    """An extra table shown in table mode only (its data is also in the JSON document)."""

    title: str
    columns: list[Column]
    rows: list[dict[str, Any]]


@dataclass
class Report:
    doc: dict[str, Any]
    rows: list[dict[str, Any]]
    columns: list[Column]
    title: str | None = None
    notes: list[str] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)
    # Renders extra text under the table in table mode (bar charts); receives a rich Console.
    extra: Callable[[Any], None] | None = None
    # Builds the Parquet table when the rows alone would lose types (defaults to rows -> Arrow).
    arrow: Callable[[], Any] | None = None


_SUFFIX_FORMATS = {".json": "json", ".jsonl": "jsonl", ".csv": "csv", ".parquet": "parquet"}


def infer_format(fmt: OutputFormat | None, output: Path | None) -> OutputFormat:
    if fmt is not None:
        return fmt
    if output is not None and output.suffix.lower() in _SUFFIX_FORMATS:
        return OutputFormat(_SUFFIX_FORMATS[output.suffix.lower()])
    return OutputFormat.table


def json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


def dumps(doc: Any, *, indent: int | None = 2) -> str:
    return json.dumps(doc, ensure_ascii=False, indent=indent, default=json_default)


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> Any:
    """Text cells that a spreadsheet would run as a formula are prefixed with a quote."""
    if value is None:
        return ""
    if isinstance(value, str):
        return "'" + value if value.startswith(_FORMULA_START) else value
    if isinstance(value, list | tuple):
        return csv_cell(";".join(str(v) for v in value))
    if isinstance(value, dict):
        return csv_cell(dumps(value, indent=None))
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


def _text(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1e6 else f"{value:,.0f}"
    if isinstance(value, list | tuple):
        return ", ".join(_text(v) for v in value)
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return str(value)


def _write_text(report: Report, fmt: OutputFormat, out: IO[str]) -> None:
    if fmt is OutputFormat.json:
        out.write(dumps(report.doc) + "\n")
    elif fmt is OutputFormat.jsonl:
        for row in report.rows:
            out.write(dumps(row, indent=None) + "\n")
    elif fmt is OutputFormat.csv:
        writer = csv.writer(out, lineterminator="\n")
        # The csv module quotes a cell only for the characters of its line terminator: a bare CR inside a
        # value would go out unquoted, and a reader that breaks lines on CR would start a new row with what
        # follows it (a formula, say). Such rows are written with every cell quoted.
        quoting = csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_ALL)
        writer.writerow([c.key for c in report.columns])
        for row in report.rows:
            cells = [csv_cell(row.get(c.key)) for c in report.columns]
            (quoting if any(isinstance(v, str) and "\r" in v for v in cells) else writer).writerow(cells)
    else:
        _write_table(report, out)


def _rich_table(title: str | None, columns: list[Column], rows: list[dict[str, Any]]) -> Any:
    from rich.table import Table

    table = Table(title=title, title_justify="left", header_style="bold")
    for col in columns:
        table.add_column(col.header, justify="right" if col.numeric else "left")
    for row in rows:
        table.add_row(*(_text(row.get(c.key)) for c in columns))
    return table


def _write_table(report: Report, out: IO[str]) -> None:
    from rich.console import Console

    width = None if out.isatty() else 200
    console = Console(file=out, width=width, highlight=False, soft_wrap=False)
    console.print(_rich_table(report.title, report.columns, report.rows))
    for section in report.sections:
        console.print(_rich_table(section.title, section.columns, section.rows))
    if report.extra is not None:
        report.extra(console)
    for note in report.notes:
        console.print(note, markup=False)


def to_arrow(report: Report) -> Any:
    import pyarrow as pa

    if report.arrow is not None:
        return report.arrow()
    data = {c.key: [_arrow_cell(row.get(c.key)) for row in report.rows] for c in report.columns}
    return pa.table(data)


def _arrow_cell(value: Any) -> Any:
    if isinstance(value, dict):
        return dumps(value, indent=None)
    return value


def render(report: Report, fmt: OutputFormat | None = None, output: Path | None = None) -> None:
    """Print ``report`` to stdout, or write it atomically to ``output``."""
    from tokctl.atomic import write_atomic, write_parquet

    fmt = infer_format(fmt, output)
    if fmt is OutputFormat.parquet:
        if output is None:
            raise UsageError("parquet output needs a file", fix="add -o FILE.parquet")
        write_parquet(to_arrow(report), output)
        return
    if output is None:
        _write_text(report, fmt, sys.stdout)
        return
    if fmt is OutputFormat.table:
        buffer = io.StringIO()
        _write_table(report, buffer)
        write_atomic(output, lambda fh: fh.write(buffer.getvalue()))
        return
    write_atomic(output, lambda fh: _write_text(report, fmt, fh))


def warn(message: str) -> None:
    """A warning on stderr; never on stdout, which carries only the result."""
    print(f"warning: {message}", file=sys.stderr)


def info(message: str) -> None:
    print(message, file=sys.stderr)
