"""``tokctl usage export|report --engine spark``: the single-machine commands with Spark reading and pricing.

The export is written by Spark (one Parquet file per task, Hive partitions with ``--partition-by``); a local
target is written in a staging directory beside it and moved into place in one rename, as on one machine.
The report sums each Spark partition with tokctl.usage.report and merges the sums exactly on the driver.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from tokctl.errors import UsageError
from tokctl.ingest.accounting import Accounting

_URI = ("s3://", "s3a://", "s3n://", "gs://", "abfs://", "abfss://", "wasbs://", "hdfs://", "dbfs:/")


def _refuse(option: str, given: bool) -> None:
    if given:
        raise UsageError(f"{option} is not available with --engine spark yet", fix=f"leave out {option} or --engine")


def priced(
    spark: Any, paths: Any, *, source: str | None, mapping: str | Path | None, at: str | None
) -> tuple[Any, Any]:
    """(priced usage DataFrame, SparkAccounting) of ``paths``."""
    from tokctl.engines import spark as engine
    from tokctl.usage.report import parse_at_option

    counts = engine.SparkAccounting(spark)
    usage = engine.read_usage(spark, paths, source=source, mapping=mapping, accounting=counts)
    return engine.price(usage, at=parse_at_option(at), accounting=counts), counts


def export_usage(
    paths: Any,
    output: str | os.PathLike[str],
    *,
    source: str | None = None,
    strict: bool = False,
    mapping: str | Path | None = None,
    partition_by: Sequence[str] | str | None = None,
    focus: bool = False,
    at: str | None = None,
    master: str | None = None,
) -> Accounting:
    """Write the priced usage of ``paths`` to ``output`` (a Parquet dataset directory or URI) with Spark."""
    from pyspark.sql import functions as f

    from tokctl.engines import spark as engine
    from tokctl.usage.export import parse_partition_by

    _refuse("--strict", strict)
    _refuse("--focus", focus)
    keys = parse_partition_by(partition_by)
    spark = engine.session(master)
    usage, counts = priced(spark, paths, source=source, mapping=mapping, at=at)
    if "usage_date" in keys:
        usage = usage.withColumn("usage_date", f.to_date("ts_start"))

    def write(target: str) -> None:
        writer = usage.write.mode("errorifexists")
        (writer.partitionBy(*keys) if keys else writer).parquet(target)

    text = os.fspath(output)
    if text.startswith(_URI):
        write(text)
    else:
        _write_local(Path(text), write)
    return counts.result()


def _write_local(target: Path, write: Callable[[str], None]) -> None:
    """Spark's output in a staging directory beside ``target``, its markers removed, moved into place."""
    from tokctl.atomic import move_into_place, staging_dir

    with staging_dir(target) as staging:
        result = staging / "dataset"
        write(str(result))
        for root, _dirs, files in os.walk(result):
            for name in files:
                if not name.endswith(".parquet"):  # _SUCCESS and the local file system's .crc files
                    (Path(root) / name).unlink()
        move_into_place(result, target)


def report_usage(
    paths: Any,
    by: Sequence[str] | str | None = ("day",),
    *,
    source: str | None = None,
    strict: bool = False,
    mapping: str | Path | None = None,
    since: str | None = None,
    until: str | None = None,
    tz: str = "UTC",
    currency: str | None = None,
    fx_file: Path | None = None,
    at: str | None = None,
    master: str | None = None,
) -> tuple[Any, Accounting]:
    """(Summary, Accounting) as tokctl.usage.report.report_usage gives, read and priced by Spark."""
    from tokctl.engines import spark as engine
    from tokctl.usage.report import columns_for, merge_summaries, parse_by, summarize_batches

    _refuse("--strict", strict)
    _refuse("--currency", currency is not None or fx_file is not None)
    keys = parse_by(by)
    summarize_batches([], keys, since=since, until=until, tz=tz)  # checks --since, --until and --tz before reading
    spark = engine.session(master)
    usage, counts = priced(spark, paths, source=source, mapping=mapping, at=at)
    parts = usage.select(*columns_for(keys)).mapInArrow(_summarizer(keys, since, until, tz), "summary string")
    summaries = [_summary(json.loads(row.summary), keys) for row in parts.collect()]
    return merge_summaries(summaries, keys), counts.result()


def _summary(doc: dict[str, Any], keys: list[str]) -> Any:
    """A partition's Summary from its JSON form (costs travel as exact decimal strings)."""
    from decimal import Decimal

    from tokctl.usage.report import Summary

    rows = [{**row, "cost": None if row["cost"] is None else Decimal(row["cost"])} for row in doc["rows"]]
    return Summary(keys, rows, [], doc["unpriced"])


def _summarizer(keys: list[str], since: str | None, until: str | None, tz: str) -> Callable[[Any], Iterator[Any]]:
    """A mapInArrow function: the Summary of one partition's rows, as JSON in one row (data, never code)."""

    def summarize_partition(batches: Iterator[Any]) -> Iterator[Any]:
        import pyarrow as pa

        from tokctl.usage.report import summarize_batches

        summary = summarize_batches(batches, keys, since=since, until=until, tz=tz)
        doc = json.dumps({"rows": summary.rows, "unpriced": summary.unpriced}, default=str)
        yield pa.RecordBatch.from_pydict({"summary": [doc]}, pa.schema([("summary", pa.string())]))

    return summarize_partition
