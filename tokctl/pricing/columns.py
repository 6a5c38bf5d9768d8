"""Reading a usage table (tokctl.schema columns) into numpy arrays for price_table.

Null token counts become 0; dictionary columns become integer codes (-1 for null) over a unified dictionary,
so chunks with their own dictionaries agree.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from tokctl.pricing.rules import normalize_service_tier


def int_column(table: Any, name: str, n: int) -> Any:
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    if name not in table.column_names:
        return np.zeros(n, dtype="int64")
    column = table.column(name)
    if column.null_count:
        column = pc.fill_null(column, 0)
    return np.asarray(column.cast(pa.int64()).to_numpy())


def token_columns(table: Any, n: int) -> tuple[dict[str, Any], Any]:
    """Token counts per component kind (disjoint), and the reason code of rows whose counts contradict."""
    import numpy as np

    raw = {
        name: int_column(table, name, n)
        for name in (
            "input_tokens",
            "cache_read_tokens",
            "cache_write_tokens",
            "cache_write_1h_tokens",
            "output_tokens",
            "reasoning_tokens",
        )
    }
    kinds = {
        "input": raw["input_tokens"] - raw["cache_read_tokens"] - raw["cache_write_tokens"],
        "cache_read": raw["cache_read_tokens"],
        "cache_write": raw["cache_write_tokens"] - raw["cache_write_1h_tokens"],
        "cache_write_1h": raw["cache_write_1h_tokens"],
        "output": raw["output_tokens"] - raw["reasoning_tokens"],
        "reasoning": raw["reasoning_tokens"],
    }
    problem = np.zeros(n, dtype="int8")  # checked in reverse priority so the first problem wins
    problem[kinds["output"] < 0] = 4
    problem[kinds["input"] < 0] = 3
    problem[kinds["cache_write"] < 0] = 2
    problem[np.logical_or.reduce([a < 0 for a in raw.values()])] = 1
    return kinds, problem


# reason codes of rows whose counts contradict each other (Usage.problem() gives the same for price())
TOKEN_PROBLEMS = {
    1: "negative_tokens",
    2: "cache_write_1h_exceeds_cache_write",
    3: "cache_exceeds_input",
    4: "reasoning_exceeds_output",
}


def timestamps(table: Any, n: int, at: dt.datetime | None) -> tuple[Any, Any]:
    """ts_start as int64 microseconds UTC (nulls filled with ``at`` when given) and a mask of known times."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    if "ts_start" not in table.column_names:
        column = pa.nulls(n, pa.timestamp("us", tz="UTC"))
    else:
        column = table.column("ts_start")
    if at is not None:
        column = pc.fill_null(column.cast(pa.timestamp("us", tz="UTC")), pa.scalar(at, pa.timestamp("us", tz="UTC")))
    ok = np.asarray(pc.is_valid(column).to_numpy(zero_copy_only=False)) if column.null_count else np.ones(n, bool)
    values = pc.fill_null(column.cast(pa.timestamp("us", tz="UTC")).cast(pa.int64()), 0)
    return np.asarray(values.to_numpy()), ok


def dictionary_codes(table: Any, name: str, n: int) -> tuple[Any, list[Any]]:
    """Codes (-1 for null) and the values they index."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    if name not in table.column_names:
        return np.full(n, -1, dtype="int64"), []
    column = table.column(name)
    if not pa.types.is_dictionary(column.type):
        column = pc.dictionary_encode(column)
    # chunks may carry different dictionaries: unify them, then one array of indices
    array = column.unify_dictionaries().combine_chunks()
    codes = np.asarray(pc.fill_null(array.indices.cast(pa.int64()), -1).to_numpy())
    return codes, array.dictionary.to_pylist()


def service_columns(table: Any, n: int) -> tuple[Any, Any, list[str | None]]:
    """Per row: index of the named service tier (0: base prices) and the batch flag."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    codes, values = dictionary_codes(table, "service_tier", n)
    names: list[str | None] = [None]
    named_of_value = np.zeros(len(values) + 1, dtype="int64")
    batch_of_value = np.zeros(len(values) + 1, dtype=bool)
    for i, value in enumerate(values):
        name, batch = normalize_service_tier(value, False)
        if name is not None and name not in names:
            names.append(name)
        named_of_value[i] = names.index(name)
        batch_of_value[i] = batch
    batch = batch_of_value[codes]  # code -1 reads the spare last slot: not batch, base prices
    if "is_batch" in table.column_names:
        flag = pc.fill_null(table.column("is_batch").cast(pa.bool_()), False)
        batch = batch | np.asarray(flag.to_numpy())
    return named_of_value[codes], batch, names


def small_unique(codes: Any, size: int) -> tuple[Any, Any]:
    import numpy as np

    if size > 4_000_000:
        return np.unique(codes, return_inverse=True)
    present = np.bincount(codes, minlength=size) > 0
    uniques = np.flatnonzero(present)
    remap = np.zeros(size, dtype="int64")
    remap[uniques] = np.arange(len(uniques))
    return uniques, remap[codes]
