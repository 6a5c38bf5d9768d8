"""Collapse rows that share a record_id: the last one in reading order wins, and is flagged.

The same response logged twice, a stream that re-emits cumulative usage, a Claude Code message written
once per content block: all give one record_id. The reader keeps 64 bits of each id per row (one int64
array per batch); :func:`plan` finds, for every id seen more than once, the position of its last row. The
survivors of a collapse carry the flag ``dedup_collapsed``. Two different ids share 64 bits with
probability about n^2 / 2^65 (3e-8 for a million rows).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


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
