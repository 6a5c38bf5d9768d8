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


FORMATS = ("parquet", "csv", "jsonl")
_SUFFIXES = {".parquet": "parquet", ".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}


def output_format(output: Path, fmt: str | None, partitioned: bool) -> str:
    """The format to write: ``fmt``, else told by the suffix (a directory or no suffix: Parquet); a suffix
    that says another format than ``fmt`` is refused, never silently overridden."""
    if fmt is not None and fmt not in FORMATS:
        raise UsageError(f"unknown export format {fmt!r}", fix=f"use one of {', '.join(FORMATS)}")
    suffix = output.suffix.lower()
    told = _SUFFIXES.get(suffix)
    if partitioned or output.is_dir() or not suffix:
        told = "parquet"
    elif told is None and fmt is None:
        raise UsageError(
            f"cannot tell the format of {output} from its suffix {suffix}",
            fix="name the file .parquet, .csv or .jsonl, or give --format",
        )
    if fmt is not None and told is not None and told != fmt and not (partitioned or output.is_dir()):
        raise UsageError(
            f"--format {fmt} but {output} ends in {suffix} ({told})",
            fix=f"name the file .{fmt if fmt != 'jsonl' else 'jsonl'} or give --format {told}",
        )
    if partitioned and fmt not in (None, "parquet"):
        raise UsageError("a partitioned dataset is Parquet", fix="leave out --format or --partition-by")
    return fmt or told or "parquet"


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
    fmt: str | None = None,
) -> Accounting:
    """Write the priced usage of ``paths`` (logs, or tokctl Parquet files and datasets, re-exported without
    parsing anything again) to ``output``; returns the read's accounting.

    ``fmt``: parquet, csv or jsonl (default: from the suffix). Nothing is written when nothing was read
    (InputNotFoundError). ``workers``: parsing processes (1: this one; None: by input size, see
    tokctl.ingest.pipeline)."""
    from tokctl.usage.sources import check_inputs, check_read, stored_paths

    keys = parse_partition_by(partition_by)
    from tokctl.usage.report import parse_at_option

    price_at = parse_at_option(at)
    if focus and keys:
        raise UsageError("--focus writes one file of FOCUS rows", fix="leave out --partition-by with --focus")
    target = Path(output)
    kind = output_format(target, fmt, bool(keys))
    given = check_inputs(paths)
    stored = stored_paths(given)
    try:
        with staging_dir(target) as staging:
            if stored:
                from tokctl.usage.store import StoredAccounting, scan

                acc: Accounting = StoredAccounting()
                result = _write_result(scan(given, None, None, acc), staging, keys, focus, kind)  # type: ignore[arg-type]
            else:
                acc = Accounting()
                result = _export_logs(given, staging, acc, keys, focus, kind, source, strict, mapping, progress,
                                      workers, price_at)  # fmt: skip
            check_read(acc, given)
            _refuse_when_nothing_was_read(acc, given, target)
            move_into_place(result, target)
    except OutputError:
        raise
    except OSError as exc:  # the disk filled up, or the directory went away: the previous output is intact
        raise OutputError(
            f"cannot write {target}: {exc.strerror or exc}", fix="check the free space and the output directory"
        ) from None
    return acc


# Inputs that gave no record at all: a mistyped name must not replace a good export with an empty one. A
# path that is not there (or cannot be read) is refused always; an empty log only when an output exists.
_NOTHING = frozenset({"missing_file", "unreadable"})


def _refuse_when_nothing_was_read(acc: Accounting, paths: Any, target: Path) -> None:
    nothing = _NOTHING | {"empty_file"} if os.path.lexists(target) else _NOTHING
    if acc.records or not any(k in nothing for k in acc.inputs):
        return
    found = sorted((r.first, r.detail) for k, r in acc.inputs.items() if k in nothing)
    first, detail = found[0] if found else (f"{paths}:0", "no input")
    raise UsageError(
        f"nothing was read from {first.removesuffix(':0')} ({detail}); {target} was left as it is",
        fix="check the input paths",
    )


def _export_logs(
    given: list[str],
    staging: Path,
    acc: Accounting,
    keys: list[str],
    focus: bool,
    kind: str,
    source: str | None,
    strict: bool,
    mapping: str | Path | None,
    progress: Callable[[int, int], None] | None,
    workers: int | None,
    price_at: Any,
) -> Path:
    import pyarrow.parquet as pq

    from tokctl.ingest import dedup
    from tokctl.usage.store import written_schema

    stage = staging / "stage.parquet"
    ids = dedup.SpilledIds(staging)
    unpriced = 0
    options = ReadOptions.of(source, strict, mapping, workers, progress)
    read = priced_batches(given, options, acc, price=True, price_at=price_at)
    schema = written_schema()
    try:
        with pq.ParquetWriter(stage, schema, use_dictionary=dictionary_columns(schema)) as out:
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
    if chosen.keep is None and not focus and not keys and kind == "parquet":
        return stage  # nothing to take out: the staging file is the result
    return _write_result(_final_batches(stage, chosen, acc), staging, keys, focus, kind)


def _write_result(batches: Iterator[Any], staging: Path, keys: list[str], focus: bool, kind: str) -> Path:
    from tokctl.usage.store import written_schema

    if focus:
        return _write_focus(batches, staging / "focus.out", kind)
    if keys:
        return _write_partitioned(batches, staging / "dataset", keys)
    return _write_rows(batches, staging / "final.out", written_schema(), kind)


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


def _write_rows(batches: Iterator[Any], path: Path, schema: Any, kind: str) -> Path:
    if kind == "csv":
        from tokctl.usage.textout import write_csv

        return write_csv(batches, path, schema)
    if kind == "jsonl":
        from tokctl.usage.textout import write_jsonl

        return write_jsonl(batches, path)
    import pyarrow.parquet as pq

    with pq.ParquetWriter(path, schema, use_dictionary=dictionary_columns(schema)) as writer:
        for batch in batches:
            writer.write_batch(batch)
    return path


def _write_focus(batches: Iterator[Any], path: Path, kind: str = "parquet") -> Path:
    from tokctl.usage.focus import UnitPrices, focus_batch, focus_schema

    prices = UnitPrices()
    return _write_rows((focus_batch(b, prices) for b in batches), path, focus_schema(), kind)


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
    from tokctl.usage.store import schema_metadata

    def with_keys(batch: Any) -> Any:
        if "usage_date" in keys:
            batch = batch.append_column("usage_date", batch.column("ts_start").cast(pa.date32()))
        for key in keys:  # partition values as plain strings (dictionary columns do not partition)
            if key != "usage_date":
                index = batch.schema.get_field_index(key)
                batch = batch.set_column(index, key, _path_safe(batch.column(key).cast(pa.string())))
        return batch

    schema = usage_schema().with_metadata(schema_metadata())
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
    from tokctl.usage.store import write_hive_manifest

    write_hive_manifest(path, keys)
    return path
