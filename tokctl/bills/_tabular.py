"""Rows of a CSV (plain or .gz) or Parquet bill, as dicts, each with the line it came from."""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tokctl.errors import InputFormatError

# A bill cell past 16 MB is damage, not a bill. The limit is process-wide (the log reader sets its own), so
# it is set again before every read.
FIELD_LIMIT = 1 << 24


def is_parquet(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(4) == b"PAR1"


def _text(path: Path) -> io.TextIOBase:
    raw = gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")  # noqa: SIM115 - wrapped below
    return io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")


def header(path: Path) -> list[str]:
    """Column names, without reading the rows."""
    if is_parquet(path):
        import pyarrow.parquet as pq

        return list(pq.read_schema(path).names)
    csv.field_size_limit(FIELD_LIMIT)
    with _text(path) as fh:
        reader = csv.reader(fh)
        try:
            return next(reader, [])
        except csv.Error as exc:
            raise _csv_error(path, reader.line_num, exc) from None


def rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line, row) pairs; Parquet rows are numbered from 1 like records, CSV rows by their physical line."""
    if is_parquet(path):
        import pyarrow.parquet as pq

        number = 0
        for batch in pq.ParquetFile(path).iter_batches(batch_size=8192):
            for row in batch.to_pylist():
                number += 1
                yield number, row
        return
    csv.field_size_limit(FIELD_LIMIT)
    with _text(path) as fh:
        reader = csv.reader(fh)
        names = next(reader, None)
        if names is None:
            raise InputFormatError("the file is empty", where=str(path), fix="give a bill export with a header row")
        line = reader.line_num
        for values in _checked(reader, path):
            if not any(v.strip() for v in values):
                line = reader.line_num
                continue
            if len(values) != len(names):
                raise InputFormatError(
                    f"{len(values)} fields where the header has {len(names)}",
                    where=f"{path}:{line + 1}",
                    fix="check the CSV quoting and delimiter",
                )
            yield line + 1, dict(zip(names, values, strict=True))
            line = reader.line_num


def _checked(reader: Any, path: Path) -> Iterator[list[str]]:
    while True:
        start = reader.line_num + 1  # the line the next row starts on
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:  # a field past the size limit, a NUL byte
            raise _csv_error(path, start, exc) from None
        yield values


def _csv_error(path: Path, line: int, exc: csv.Error) -> InputFormatError:
    return InputFormatError(f"unreadable CSV: {exc}", where=f"{path}:{max(line, 1)}", fix="check the CSV export")


def require(path: Path, names: list[str], needed: tuple[str, ...], fmt: str) -> None:
    missing = [n for n in needed if n not in names]
    if missing:
        raise InputFormatError(
            f"not a {fmt} file: missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)}",
            where=f"{path}:1",
            fix=f"export the bill as {fmt}, or give --bill-format to read it as another format",
        )
