"""dedup.plan keeps the last row of every id and flags the survivors of a collapse."""

from __future__ import annotations

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from tokctl.readers import dedup


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
