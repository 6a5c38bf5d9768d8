"""dedup.plan keeps the last row of every id and flags the survivors of a collapse."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from tokctl.ingest import dedup


@settings(max_examples=200, deadline=None)
@given(
    ids=st.lists(st.integers(min_value=-(2**63), max_value=2**63 - 1) | st.integers(0, 5), max_size=60),
    cut=st.integers(1, 7),
)
def test_plan_keeps_the_last_row_of_each_id(ids: list[int], cut: int) -> None:
    chunks = [pa.array(ids[i : i + cut], pa.int64()) for i in range(0, len(ids), cut)]
    result = dedup.plan(chunks)
    last = {value: position for position, value in enumerate(ids)}
    counts: dict[int, int] = {}
    for value in ids:
        counts[value] = counts.get(value, 0) + 1
    assert result.duplicates == len(ids) - len(last)
    if result.duplicates == 0:
        assert result.keep is None
        return
    keep = result.keep.to_pylist()
    collapsed = result.collapsed.to_pylist()
    assert [i for i, k in enumerate(keep) if k] == sorted(last.values())
    assert [i for i, c in enumerate(collapsed) if c] == sorted(last[v] for v, n in counts.items() if n > 1)


@settings(max_examples=150, deadline=None)
@given(
    ids=st.lists(st.integers(min_value=-(2**63), max_value=2**63 - 1) | st.integers(0, 5), max_size=80),
    cut=st.integers(1, 9),
    partition_rows=st.integers(1, 30),
)
def test_the_plan_of_ids_on_disk_equals_the_plan_in_memory(
    tmp_path_factory: Any, ids: list[int], cut: int, partition_rows: int
) -> None:
    """Split into partitions by value (as many as the rows need), sorted one at a time: the same plan."""
    chunks = [pa.array(ids[i : i + cut], pa.int64()) for i in range(0, len(ids), cut)]
    spilled = dedup.SpilledIds(tmp_path_factory.mktemp("ids"))
    for chunk in chunks:
        spilled.add(chunk)
    on_disk = dedup.plan_spilled(spilled, partition_rows=partition_rows)
    in_memory = dedup.plan(chunks)
    assert on_disk.duplicates == in_memory.duplicates
    if in_memory.keep is None:
        assert on_disk.keep is None and on_disk.collapsed is None
    else:
        assert on_disk.keep.equals(in_memory.keep)
        assert on_disk.collapsed.equals(in_memory.collapsed)
    assert sorted(p.name for p in spilled.directory.iterdir()) == ["ids.i64"]  # partition files removed


def test_an_export_with_duplicates_is_the_same_when_its_ids_are_split_into_partitions(
    tmp_path: Any, monkeypatch: Any
) -> None:
    import pyarrow.parquet as pq

    import tokctl
    from tests.usage_helpers import EXAMPLES

    logs = [str(p) for p in sorted(EXAMPLES.glob("*.jsonl"))]
    logs += logs[:3]  # the same records again: duplicates across the read
    whole = tokctl.export_usage(logs, tmp_path / "whole.parquet")
    monkeypatch.setattr(dedup, "PARTITION_ROWS", 4)
    split = tokctl.export_usage(logs, tmp_path / "split.parquet")
    assert whole.duplicates == split.duplicates > 0
    assert pq.read_table(tmp_path / "split.parquet").equals(pq.read_table(tmp_path / "whole.parquet"))
