"""Collect canonical rows column by column and turn them into Arrow record batches.

Rows are appended to one Python list per column (cheap), and each list becomes an Arrow array once per
batch (fast, typed). Timestamps travel as integer microseconds until then.
"""

from __future__ import annotations

from typing import Any

from tokctl.schema import USAGE_COLUMNS, usage_schema

COLUMN_NAMES = tuple(name for name, *_ in USAGE_COLUMNS)
BATCH_ROWS = 65_536


class BatchBuilder:
    """Append rows; :meth:`flush` returns (RecordBatch, int64 identity hashes) and starts a new batch.

    Each row is kept as a tuple in schema order (one C-level pass over the row dict) and the tuples are
    transposed into columns at flush time, which is several times faster than 38 appends per row.
    """

    def __init__(self) -> None:
        self._rows: list[tuple[Any, ...]] = []

    def __len__(self) -> int:
        return len(self._rows)

    def add(self, row: dict[str, Any]) -> None:
        self._rows.append(tuple(map(row.get, COLUMN_NAMES)))

    def flush(self) -> tuple[Any, Any]:
        import pyarrow as pa

        rows, self._rows = self._rows, []
        schema = usage_schema()
        columns = list(zip(*rows, strict=True)) if rows else [() for _ in COLUMN_NAMES]
        arrays = [_array(list(values), field.type) for values, field in zip(columns, schema, strict=True)]
        batch = pa.RecordBatch.from_arrays(arrays, schema=schema)
        hashes = pa.array([identity_hash(record_id) for record_id in columns[0]], pa.int64())
        return batch, hashes


def identity_hash(record_id: str) -> int:
    """64 bits of the record id, to find duplicates across batches with little memory."""
    return int(record_id[:16], 16) - (1 << 63)


def _array(values: list[Any], arrow_type: Any) -> Any:
    import pyarrow as pa

    if pa.types.is_dictionary(arrow_type):
        return pa.array(values, pa.string()).dictionary_encode()
    if pa.types.is_map(arrow_type):
        return pa.array([None if v is None else list(v.items()) for v in values], arrow_type)
    return pa.array(values, arrow_type)
