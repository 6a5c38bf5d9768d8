"""Usage (or FOCUS) record batches as CSV or JSON lines: one row a line, money as exact decimal text.

CSV cells hold text only: ``tags`` becomes a JSON object, ``flags`` its items joined by ``;``, timestamps ISO
8601 in UTC; a text cell that a spreadsheet would run as a formula is prefixed with a quote (as every tokctl
CSV). JSON lines keep the types JSON has: numbers for counts, strings for money (never a float), objects for
tags, lists for flags.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path
from typing import Any

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> Any:
    """A CSV cell: text a spreadsheet would run as a formula gets a leading quote (as tokctl.render does)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return "'" + value if value.startswith(_FORMULA_START) else value
    if isinstance(value, list | tuple):
        return _cell(";".join(str(v) for v in value))
    if isinstance(value, dict):
        return _cell(json.dumps(value, ensure_ascii=False, default=_json_value))
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


def _json_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    raise TypeError(f"cannot serialise {type(value).__name__}")


def _plain_rows(batch: Any) -> list[dict[str, Any]]:
    import pyarrow as pa

    rows = batch.to_pylist()
    maps = [f.name for f in batch.schema if pa.types.is_map(f.type)]
    for row in rows:
        for name in maps:
            if row[name] is not None:
                row[name] = dict(row[name])
    return rows


def write_csv(batches: Iterable[Any], path: Path, schema: Any) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(schema.names)
        for batch in batches:
            for row in _plain_rows(batch):
                writer.writerow([_cell(row[name]) for name in schema.names])
    return path


def write_jsonl(batches: Iterable[Any], path: Path) -> Path:
    with open(path, "w", encoding="utf-8") as fh:
        for batch in batches:
            for row in _plain_rows(batch):
                fh.write(json.dumps(row, ensure_ascii=False, default=_json_value))
                fh.write("\n")
    return path
