"""``tokctl usage export``: the priced canonical table (or FOCUS rows) to Parquet, atomically, in bounded
memory.

Records stream into a staging Parquet file in a temporary directory beside the target, priced batch by
batch. Duplicates are only known at the end, so when there are any (or when the output is partitioned,
or FOCUS) the staging file is read back batch by batch and written again without them. The result is
moved into place in one rename: a single file, or a directory of Hive partitions
(``usage_date=2026-01-14/provider=openai/part-0.parquet``; ``usage_date`` is the UTC date of ts_start).
An interrupted export leaves the previous output as it was and no partial file.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from tokctl.atomic import move_into_place, staging_dir
from tokctl.errors import OutputError, UsageError
from tokctl.ingest import Accounting
from tokctl.ingest.batch import BATCH_ROWS
from tokctl.ingest.options import ReadOptions
from tokctl.usage.read import count_unpriced, priced_batches

PARTITION_KEYS = ("usage_date", "provider", "model", "source_format", "project", "service_tier", "currency")


def parse_partition_by(value: Sequence[str] | str | None) -> list[str]:
    if not value:
        return []
    items = [value] if isinstance(value, str) else list(value)
    keys = [part.strip() for item in items for part in item.split(",") if part.strip()]
    unknown = [k for k in keys if k not in PARTITION_KEYS]
    if unknown:
        raise UsageError(
            f"cannot partition by {', '.join(unknown)}", fix=f"partition by some of {', '.join(PARTITION_KEYS)}"
        )
    return keys


def export_usage(
    paths: Any,
    output: str | os.PathLike[str],
    *,
    source: str | None = None,
    strict: bool = False,
    mapping: str | Path | None = None,
    partition_by: Sequence[str] | str | None = None,
    focus: bool = False,
    progress: Callable[[int, int], None] | None = None,
    workers: int | None = 1,
    at: str | None = None,
) -> Accounting:
    """Write the priced usage of ``paths`` to ``output`` (Parquet); returns the read's accounting.

    ``workers``: parsing processes (1: this one; None: TOKCTL_WORKERS, else by input size, see tokctl.ingest.read)."""
    import pyarrow.parquet as pq

    from tokctl.schema import usage_schema

    keys = parse_partition_by(partition_by)
    from tokctl.usage.report import parse_at_option

    price_at = parse_at_option(at)
    if focus and keys:
        raise UsageError("--focus writes one file of FOCUS rows", fix="leave out --partition-by with --focus")
    target = Path(output)
    acc = Accounting()
    try:
        with staging_dir(target) as staging:
            from tokctl.ingest import dedup

            stage = staging / "stage.parquet"
            ids = dedup.SpilledIds(staging)
            unpriced = 0
            options = ReadOptions.of(source, strict, mapping, workers, progress)
            read = priced_batches(paths, options, acc, price=True, price_at=price_at)
            try:
                with pq.ParquetWriter(stage, usage_schema(), use_dictionary=dictionary_columns(usage_schema())) as out:
                    for batch, batch_hashes in read:
                        out.write_batch(batch)
                        ids.add(batch_hashes)
                        unpriced += count_unpriced(batch)
            finally:
                ids.close()
            chosen = dedup.plan_spilled(ids)
            acc.duplicates = chosen.duplicates
            if chosen.keep is None:
                acc.unpriced = unpriced
            batches = _final_batches(stage, chosen, acc)
            if focus:
                result = _write_focus(batches, staging / "focus.parquet")
            elif keys:
                result = _write_partitioned(batches, staging / "dataset", keys)
            elif chosen.keep is None:
                result = stage  # nothing to take out: the staging file is the result
            else:
                result = _write_file(batches, staging / "final.parquet", usage_schema())
            move_into_place(result, target)
    except OutputError:
        raise
    except OSError as exc:  # the disk filled up, or the directory went away: the previous output is intact
        raise OutputError(
            f"cannot write {target}: {exc.strerror or exc}", fix="check the free space and the output directory"
        ) from None
    return acc


def _final_batches(stage: Path, chosen: Any, acc: Accounting) -> Iterator[Any]:
    import pyarrow.parquet as pq

    from tokctl.ingest import dedup

    offset = 0
    for batch in pq.ParquetFile(stage).iter_batches(batch_size=BATCH_ROWS):
        keep, collapsed = chosen.slice(offset, batch.num_rows)
        offset += batch.num_rows
        if keep is None:
            yield batch
            continue
        kept = dedup.apply(batch, keep, collapsed)
        acc.unpriced += count_unpriced(kept)
        yield kept


# Text columns that repeat across rows: Parquet dictionary-encodes these. Ids (record_id, request_id, ...)
# are unique, and trying a dictionary on them cost a third of the write.
_REPEATING = frozenset({"source_file", "project", "api_key_id", "user", "error_type", "currency", "price_ref"})


def dictionary_columns(schema: Any) -> list[str]:
    import pyarrow as pa

    return [
        f.name
        for f in schema
        if pa.types.is_dictionary(f.type) or f.name in _REPEATING or f.name.endswith(("_currency", "_unit"))
    ]


def _write_file(batches: Iterator[Any], path: Path, schema: Any) -> Path:
    import pyarrow.parquet as pq

    with pq.ParquetWriter(path, schema, use_dictionary=dictionary_columns(schema)) as writer:
        for batch in batches:
            writer.write_batch(batch)
    return path


def _write_focus(batches: Iterator[Any], path: Path) -> Path:
    from tokctl.usage.focus import UnitPrices, focus_batch, focus_schema

    prices = UnitPrices()
    return _write_file((focus_batch(b, prices) for b in batches), path, focus_schema())


def _path_safe(values: Any) -> Any:
    """Partition values become directory names, percent-encoded by Arrow (``/`` is ``%2F``, so ``../x``
    stays inside the dataset); only NUL passes through and would cut the name short, merging ``a\\0b``
    with ``a``: it becomes U+FFFD."""
    import pyarrow.compute as pc

    return pc.replace_substring(values, "\x00", "\ufffd")


def _write_partitioned(batches: Iterator[Any], path: Path, keys: list[str]) -> Path:
    import pyarrow as pa
    import pyarrow.dataset as ds

    from tokctl.schema import usage_schema

    def with_keys(batch: Any) -> Any:
        if "usage_date" in keys:
            batch = batch.append_column("usage_date", batch.column("ts_start").cast(pa.date32()))
        for key in keys:  # partition values as plain strings (dictionary columns do not partition)
            if key != "usage_date":
                index = batch.schema.get_field_index(key)
                batch = batch.set_column(index, key, _path_safe(batch.column(key).cast(pa.string())))
        return batch

    schema = usage_schema()
    if "usage_date" in keys:
        schema = schema.append(pa.field("usage_date", pa.date32()))
    for key in keys:
        if key != "usage_date" and pa.types.is_dictionary(schema.field(key).type):
            schema = schema.set(schema.get_field_index(key), pa.field(key, pa.string()))
    partitioning = ds.partitioning(pa.schema([schema.field(k) for k in keys]), flavor="hive")
    ds.write_dataset(
        (with_keys(b) for b in batches),
        path,
        schema=schema,
        format="parquet",
        partitioning=partitioning,
        basename_template="part-{i}.parquet",
        existing_data_behavior="error",
    )
    if not path.exists():
        path.mkdir()
    return path
