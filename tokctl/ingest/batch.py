"""Collect canonical rows column by column and turn them into Arrow record batches.

Rows are kept as the dicts the readers made and become Arrow arrays once per batch (fast, typed).
Timestamps travel as integer microseconds until then.
"""

from __future__ import annotations

import functools
from typing import Any

from tokctl.schema import USAGE_COLUMNS, usage_schema

COLUMN_NAMES = tuple(name for name, *_ in USAGE_COLUMNS)
BATCH_ROWS = 65_536


class BatchBuilder:
    """Append rows; :meth:`flush` returns (RecordBatch, int64 identity hashes) and starts a new batch.

    The row dicts are converted in one call as an Arrow struct array (pyarrow looks the fields up in C++,
    about twice as fast as transposing them in Python), then split into the schema's columns.
    """

    def __init__(self) -> None:
        self._rows: list[dict[str, Any]] = []
        # Rows of the last flush that Arrow could not hold, with why (the caller counts them as skipped).
        self.rejected: list[tuple[dict[str, Any], str]] = []

        # Bound once: called for every row.
        self.add = self._rows.append

    def __len__(self) -> int:
        return len(self._rows)

    def flush(self) -> tuple[Any, Any]:
        import pyarrow as pa

        rows = self._rows.copy()
        self._rows.clear()  # the same list: ``add`` stays bound to it
        schema = usage_schema()
        try:
            structs = pa.array(rows, type=_row_type())
            self.rejected = []
        except (pa.ArrowException, OverflowError, ValueError, TypeError):
            rows, self.rejected = _holdable(rows)  # the slow path, only for a batch with a bad row
            structs = pa.array(rows, type=_row_type())
        children = structs.flatten()
        arrays = [
            child.dictionary_encode() if pa.types.is_dictionary(field.type) else child
            for child, field in zip(children, schema, strict=True)
        ]
        batch = pa.RecordBatch.from_arrays(arrays, schema=schema)
        hashes = pa.array([identity_hash(row["record_id"]) for row in rows], pa.int64())
        return batch, hashes


def _holdable(rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[tuple[dict[str, Any], str]]]:
    """The rows Arrow can hold, and the others with the column that does not fit (a reader let through a
    value past its column's range, e.g. an HTTP status past int16). Values are never quoted: logs hold
    secrets."""
    import pyarrow as pa

    kind = _row_type()
    good, bad = [], []
    for row in rows:
        try:
            pa.array([row], type=kind)
        except (pa.ArrowException, OverflowError, ValueError, TypeError):
            bad.append((row, _misfit(row, kind)))
        else:
            good.append(row)
    return good, bad


def _misfit(row: dict[str, Any], kind: Any) -> str:
    import pyarrow as pa

    for field in kind:
        try:
            pa.array([row.get(field.name)], type=field.type)
        except (pa.ArrowException, OverflowError, ValueError, TypeError):
            return f"{field.name} does not fit {field.type}"
    return "a value does not fit its column"


@functools.cache
def _row_type() -> Any:
    """The usage schema as one struct, dictionary columns as plain strings (encoded after conversion)."""
    import pyarrow as pa

    return pa.struct(
        [pa.field(f.name, pa.string() if pa.types.is_dictionary(f.type) else f.type) for f in usage_schema()]
    )


def identity_hash(record_id: str) -> int:
    """64 bits of the record id, to find duplicates across batches with little memory."""
    return int(record_id[:16], 16) - (1 << 63)
