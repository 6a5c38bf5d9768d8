"""Usage (or FOCUS) record batches as CSV or JSON lines: one row a line, money as exact decimal text.

CSV cells hold text only: ``tags`` becomes a JSON object, ``flags`` its items joined by ``;``, timestamps ISO
8601 in UTC; a text cell that a spreadsheet would run as a formula is prefixed with a quote (as every tokctl
CSV). JSON lines keep the types JSON has: numbers for counts, strings for money (never a float), objects for
tags, lists for flags.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any


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
    from tokctl.render import csv_cell

    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(schema.names)
        for batch in batches:
            for row in _plain_rows(batch):
                writer.writerow([_csv_value(row[name], csv_cell) for name in schema.names])
    return path


def _csv_value(value: Any, cell: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    return cell(value)


def write_jsonl(batches: Iterable[Any], path: Path) -> Path:
    from tokctl.render import json_default

    with open(path, "w", encoding="utf-8") as fh:
        for batch in batches:
            for row in _plain_rows(batch):
                fh.write(json.dumps(row, ensure_ascii=False, default=json_default))
                fh.write("\n")
    return path
