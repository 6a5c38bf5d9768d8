"""Writing price_table's results into the usage table: cost (decimal128(38, 12)), currency, price_ref, flags."""

from __future__ import annotations

from typing import Any


def decimal_column(cost: tuple[Any, dict[int, int]], priced: Any) -> Any:
    """decimal128(38, 12) from integer units of 1e-12: int64 where they fit, Python ints where not."""
    import numpy as np
    import pyarrow as pa

    from tokctl.schema import money_type

    units, big = cost
    data = np.empty((len(units), 2), dtype="int64")
    data[:, 0] = units
    data[:, 1] = units >> 63  # two's complement sign extension to 128 bits
    for row, value in big.items():
        low = value & (2**64 - 1)
        data[row, 0] = low - 2**64 if low >= 2**63 else low
        data[row, 1] = value >> 64
    validity = pa.array(priced).buffers()[1] if not priced.all() else None
    return pa.Array.from_buffers(money_type(), len(units), [validity, pa.py_buffer(data.tobytes())])


def fill(
    table: Any,
    cost: tuple[Any, dict[int, int]],
    priced: Any,
    variant: Any,
    currencies: list[str],
    refs: list[str],
    reason: Any,
    codes: list[str],
) -> Any:
    """``table`` with cost, currency, price_ref and flags replaced (or appended when absent)."""
    import numpy as np
    import pyarrow as pa

    picks = pa.array(np.where(priced, variant, 0), mask=~priced)
    columns = {
        "cost": decimal_column(cost, priced),
        "currency": pa.array(currencies or [""], pa.string()).take(picks),
        "price_ref": pa.array(refs or [""], pa.string()).take(picks),
        "flags": flags_column(table, reason, codes),
    }
    for name, array in columns.items():
        if name in table.column_names:
            i = table.column_names.index(name)
            table = table.set_column(i, pa.field(name, array.type), array)
        else:
            table = table.append_column(pa.field(name, array.type), array)
    return table


def flags_column(table: Any, reason: Any, codes: list[str]) -> Any:
    """The flags column with ``unpriced:<reason>`` appended where a row has a reason."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    n = len(reason)
    if "flags" in table.column_names:
        old = table.column("flags").combine_chunks().cast(pa.list_(pa.string()))
    else:
        old = pa.nulls(n, pa.list_(pa.string()))
    added = reason > 0
    if not added.any():
        return old
    valid = np.asarray(pc.is_valid(old).to_numpy(zero_copy_only=False))
    old_lengths = np.asarray(pc.fill_null(pc.list_value_length(old), 0).to_numpy()).astype("int64")
    new_lengths = old_lengths + added
    offsets = np.concatenate([[0], np.cumsum(new_lengths)]).astype("int32")
    values = pc.list_flatten(old)
    parents = np.asarray(pc.list_parent_indices(old).to_numpy()).astype("int64")
    old_offsets = np.concatenate([[0], np.cumsum(old_lengths)])
    take = np.empty(int(offsets[-1]), dtype="int64")
    take[offsets[parents] + (np.arange(len(parents)) - old_offsets[parents])] = np.arange(len(parents))
    rows = np.flatnonzero(added)
    take[offsets[rows] + old_lengths[rows]] = len(values) + reason[rows] - 1
    labels = pa.array([f"unpriced:{code}" for code in codes[1:]], pa.string())
    flat = pa.concat_arrays([values.cast(pa.string()), labels]).take(pa.array(take))
    return pa.ListArray.from_arrays(pa.array(offsets), flat, mask=pa.array(~(valid | added)))
