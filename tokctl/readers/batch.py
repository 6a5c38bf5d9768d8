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
    """Append rows; :meth:`flush` returns (RecordBatch, int64 identity hashes) and starts a new batch."""

    def __init__(self) -> None:
        self._columns: dict[str, list[Any]] = {name: [] for name in COLUMN_NAMES}
        self._pairs = tuple(self._columns.items())
        self._hashes: list[int] = []

    def __len__(self) -> int:
        return len(self._hashes)

    def add(self, row: dict[str, Any]) -> None:
        get = row.get
        for name, values in self._pairs:
            values.append(get(name))
        self._hashes.append(identity_hash(row["record_id"]))

    def flush(self) -> tuple[Any, Any]:
        import pyarrow as pa

        schema = usage_schema()
        arrays = [_array(self._columns[field.name], field.type) for field in schema]
        batch = pa.RecordBatch.from_arrays(arrays, schema=schema)
        hashes = pa.array(self._hashes, pa.int64())
        for values in self._columns.values():
            values.clear()
        self._hashes = []
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
