"""Collapse rows that share a record_id: the last one in reading order wins, and is flagged.

The same response logged twice, a stream that re-emits cumulative usage, a Claude Code message written
once per content block: all give one record_id. The reader keeps 64 bits of each id per row (one int64
array per batch); :func:`plan` finds, for every id seen more than once, the position of its last row. The
survivors of a collapse carry the flag ``dedup_collapsed``. Two different ids share 64 bits with
probability about n^2 / 2^65 (3e-8 for a million rows).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO


@dataclass
class Plan:
    """Which rows to keep (None: all) and which kept rows absorbed duplicates."""

    keep: Any  # pyarrow BooleanArray over all rows, or None
    collapsed: Any  # pyarrow BooleanArray over all rows (kept rows that absorbed others), or None
    duplicates: int

    def slice(self, offset: int, length: int) -> tuple[Any, Any]:
        if self.keep is None:
            return None, None
        return self.keep.slice(offset, length), self.collapsed.slice(offset, length)


def plan(hash_chunks: list[Any]) -> Plan:
    """Keep the last row of every id. A stable sort of the 64-bit ids (about 27 bytes a row at the peak) finds
    the runs of equal ids; a hash aggregation took ~150 bytes a row, which made memory grow with the input."""
    import numpy as np
    import pyarrow as pa

    if not hash_chunks:
        return Plan(None, None, 0)
    hashes = np.concatenate([np.asarray(chunk, dtype=np.int64) for chunk in hash_chunks])
    n = len(hashes)
    order = np.argsort(hashes, kind="stable")  # equal ids keep reading order, so a run ends at its last row
    ordered = hashes[order]
    del hashes
    boundary = ordered[1:] != ordered[:-1]
    del ordered
    run_end = np.append(boundary, True)
    duplicates = n - int(np.count_nonzero(run_end))
    if duplicates == 0:
        return Plan(None, None, 0)
    run_start = np.insert(boundary, 0, True)
    keep_np = np.zeros(n, dtype=bool)
    keep_np[order[run_end]] = True
    collapsed_np = np.zeros(n, dtype=bool)
    collapsed_np[order[run_end & ~run_start]] = True
    return Plan(pa.array(keep_np), pa.array(collapsed_np), duplicates)


def apply(batch: Any, keep: Any, collapsed: Any) -> Any:
    """``batch`` without its superseded rows, survivors of a collapse flagged ``dedup_collapsed``."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if keep is None:
        return batch
    batch = batch.filter(keep)
    collapsed = pc.filter(collapsed, keep)
    if not pc.any(collapsed).as_py():
        return batch
    index = batch.schema.get_field_index("flags")
    flags = batch.column(index).to_pylist()
    for row in collapsed.to_numpy(zero_copy_only=False).nonzero()[0]:
        flags[row] = [*(flags[row] or []), "dedup_collapsed"]
    array = pa.array(flags, batch.schema.field(index).type)
    return batch.set_column(index, batch.schema.field(index), array)


PARTITION_ROWS = 1 << 20  # ids a partition holds in memory at once (about 35 bytes each at the sort: 37 MB)


class SpilledIds:
    """Record ids written to a file as the batches come (8 bytes a record on disk, none in memory), for
    :func:`plan_spilled`: with it, a read's memory no longer grows with the number of records."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.path = self.directory / "ids.i64"
        self._file: BinaryIO | None = open(self.path, "wb")  # noqa: SIM115 - closed by close()
        self.rows = 0

    def add(self, hashes: Any) -> None:
        import numpy as np

        assert self._file is not None
        values = np.asarray(hashes, dtype=np.int64)
        values.tofile(self._file)
        self.rows += len(values)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def plan_spilled(ids: SpilledIds, partition_rows: int | None = None) -> Plan:
    """:func:`plan` of ids on disk. Ids are split by value into partitions that each fit in memory (equal ids
    land in the same one), positions travel with them, and each partition is sorted on its own; memory holds
    one partition and two flags (one byte each) per record."""
    import numpy as np
    import pyarrow as pa

    ids.close()
    n = ids.rows
    if n == 0:
        return Plan(None, None, 0)
    partition_rows = partition_rows or PARTITION_ROWS
    parts = -(-n // partition_rows)
    if parts == 1:
        return plan([np.fromfile(ids.path, dtype=np.int64)])
    names = [(ids.directory / f"ids.{p}.i64", ids.directory / f"pos.{p}.i64") for p in range(parts)]
    outs = [(open(a, "wb"), open(b, "wb")) for a, b in names]  # noqa: SIM115 - closed below
    try:
        with open(ids.path, "rb") as source:
            start = 0
            while True:
                chunk = np.fromfile(source, dtype=np.int64, count=partition_rows)
                if not len(chunk):
                    break
                positions = np.arange(start, start + len(chunk), dtype=np.int64)
                which = chunk.view(np.uint64) % np.uint64(parts)
                for p, (id_file, pos_file) in enumerate(outs):
                    mine = which == p
                    chunk[mine].tofile(id_file)
                    positions[mine].tofile(pos_file)
                start += len(chunk)
    finally:
        for id_file, pos_file in outs:
            id_file.close()
            pos_file.close()
    keep_np = np.ones(n, dtype=bool)
    collapsed_np = np.zeros(n, dtype=bool)
    for id_path, pos_path in names:
        part = np.fromfile(id_path, dtype=np.int64)
        positions = np.fromfile(pos_path, dtype=np.int64)
        id_path.unlink()
        pos_path.unlink()
        if len(part) < 2:
            continue
        order = np.argsort(part, kind="stable")  # positions rise within a partition: a run ends at its last row
        ordered = part[order]
        boundary = ordered[1:] != ordered[:-1]
        run_end = np.append(boundary, True)
        run_start = np.insert(boundary, 0, True)
        keep_np[positions[order[~run_end]]] = False
        collapsed_np[positions[order[run_end & ~run_start]]] = True
    duplicates = n - int(np.count_nonzero(keep_np))
    if duplicates == 0:
        return Plan(None, None, 0)
    return Plan(pa.array(keep_np), pa.array(collapsed_np), duplicates)
