"""Usage logs on Apache Spark: tokctl's own readers, dedup rule and pricer, run by ``DataFrame.mapInArrow``.

>>> from tokctl.engines import spark as engine                         # doctest: +SKIP
>>> session = engine.session("local[2]")                              # doctest: +SKIP
>>> counts = engine.SparkAccounting(session)                          # doctest: +SKIP
>>> usage = engine.price(engine.read_usage(session, ["logs/"], accounting=counts), accounting=counts)  # doctest: +SKIP
>>> usage.write.parquet("s3a://bucket/usage/")                        # doctest: +SKIP
>>> counts.result().line()   # after the action                       # doctest: +SKIP

- Reading: the driver lists the files as one machine does (tokctl.ingest.inputs.expand, or Spark's own file
  listing for ``s3a://``-style URIs) and plans one task per file (a large plain JSON-lines file is cut at line
  ends into ranges); each Spark task runs tokctl.ingest.pipeline on its files, so detection, every format
  and every skip reason are the single-machine code.
- Dedup: rows that share a record_id collapse to the last one in reading order (file order, then order within
  the file), flagged ``dedup_collapsed``, as tokctl.ingest.dedup does; here it is a window over record_id.
- Pricing: tokctl.pricing.price_table per Arrow batch.
- The registry (prices, calendars, the user's overrides) is captured once on the driver and broadcast;
  workers never read tokenizers_registry/ or the config file.
- Accounting: each task's :class:`~tokctl.ingest.accounting.Accounting` travels in an accumulator keyed by
  task (a task run again after a failure is counted once); duplicates and unpriced rows are Spark
  observations. :meth:`SparkAccounting.result` merges them in reading order after an action.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tokctl.engines import spark_tasks
from tokctl.engines.spark_tasks import COLLAPSED, POSITION, READ_ORDER, TASK
from tokctl.ingest.accounting import Accounting

# Plain JSON-lines files larger than this are read as several tasks (Spark's own default split size). A
# streamed response whose events straddle two ranges loses its pairing, as with tokctl's worker processes.
SPLIT_BYTES = 128 * 1024 * 1024
_URI_SCHEMES = ("s3://", "s3a://", "s3n://", "gs://", "abfs://", "abfss://", "wasbs://", "hdfs://", "dbfs:/")


def session(master: str | None = None, *, app_name: str = "tokctl", conf: dict[str, str] | None = None) -> Any:
    """A SparkSession for tokctl: ``master`` (default ``local[*]``, or the one spark-submit gave), the UTC
    session time zone tokctl's timestamps use, Parquet timestamps in microseconds. Local masters bind to
    127.0.0.1, run without the web UI and start their Python workers with this interpreter and this tokctl."""
    import warnings

    from pyspark.sql import SparkSession

    # pyspark 4 warns on every Arrow call that it has not been certified with pandas 3; tokctl passes it
    # Arrow only, never pandas.
    warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)
    builder = SparkSession.builder.appName(app_name)
    from tokctl.settings import prepare_local_spark, under_spark_submit

    if master is None and not under_spark_submit():
        master = "local[*]"
    if master is not None:
        builder = builder.master(master)
    settings = {
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
        "spark.ui.showConsoleProgress": "false",  # tokctl reports on stderr itself
    }
    if master is not None and master.startswith("local"):
        # the directory that holds this tokctl package
        prepare_local_spark(sys.executable, Path(__file__).resolve().parents[2])
        settings.update({"spark.driver.host": "127.0.0.1", "spark.driver.bindAddress": "127.0.0.1"})
        settings["spark.ui.enabled"] = "false"
    settings.update(conf or {})
    for key, value in settings.items():
        builder = builder.config(key, value)
    try:
        return builder.getOrCreate()
    except Exception as exc:  # pyspark's own errors: Java missing, a master that cannot be reached
        if not type(exc).__module__.startswith(("pyspark", "py4j")):
            raise
        from tokctl.errors import UsageError

        raise UsageError(
            f"cannot start Spark ({master or 'from spark-submit'}): {str(exc).splitlines()[0]}",
            fix="install Java 17+ (java on PATH or JAVA_HOME) and check --master",
        ) from None


class SparkAccounting:
    """What a Spark read did with every record, available once an action on its DataFrame has finished."""

    def __init__(self, spark: Any) -> None:
        from pyspark import AccumulatorParam

        class ByTask(AccumulatorParam):  # type: ignore[type-arg,misc]
            def zero(self, value: dict[int, Accounting]) -> dict[int, Accounting]:
                return {}

            def addInPlace(self, a: dict[int, Accounting], b: dict[int, Accounting]) -> dict[int, Accounting]:
                a.update(b)
                return a

        self.tasks = spark.sparkContext.accumulator({}, ByTask())
        self.dedup: Any = None
        self.priced: Any = None

    def result(self) -> Accounting:
        """The merged Accounting (tasks in reading order, so each reason's first location is the first)."""
        acc = Accounting()
        for _, part in sorted(self.tasks.value.items()):
            acc.merge(part)
        if self.dedup is not None:
            acc.duplicates = int(self.dedup.get.get("duplicates") or 0)
        if self.priced is not None:
            acc.unpriced = int(self.priced.get.get("unpriced") or 0)
        return acc


def spark_schema(extra: Sequence[str] = ()) -> Any:
    """The canonical usage schema as Spark types: money DecimalType(38, 12), tags a map, dictionary strings
    plain strings, timestamps TimestampType (UTC); ``extra`` long columns after them."""
    from pyspark.sql import types as t

    from tokctl.schema import MONEY_PRECISION, MONEY_SCALE, USAGE_COLUMNS

    kinds = {
        "string": t.StringType(),
        "dict": t.StringType(),
        "int64": t.LongType(),
        "int16": t.ShortType(),
        "bool": t.BooleanType(),
        "timestamp": t.TimestampType(),
        "money": t.DecimalType(MONEY_PRECISION, MONEY_SCALE),
        "map": t.MapType(t.StringType(), t.StringType()),
        "list": t.ArrayType(t.StringType()),
    }
    fields = [t.StructField(name, kinds[spec], nullable) for name, spec, nullable, _ in USAGE_COLUMNS]
    return t.StructType([*fields, *(t.StructField(name, t.LongType(), False) for name in extra)])


def read_usage(
    spark: Any,
    paths: Any,
    *,
    source: str | None = None,
    mapping: str | Path | None = None,
    accounting: SparkAccounting | None = None,
    split_bytes: int | None = SPLIT_BYTES,
) -> Any:
    """The canonical usage rows of ``paths`` as a DataFrame (:func:`spark_schema`), duplicates collapsed.

    ``paths``: local files, directories or globs (seen by every worker: local mode, or a shared file system
    such as /dbfs), or URIs that Spark lists and reads itself (``s3a://bucket/logs/``, ``hdfs://...``).
    ``split_bytes``: plain JSON-lines files above it are read as several tasks (None: one task per file).
    """
    from tokctl.ingest.detection import Context
    from tokctl.ingest.generic import load_mapping

    loaded = load_mapping(mapping) if mapping is not None else None
    Context(source, loaded)  # checks --source before any work is planned
    counts = accounting if accounting is not None else SparkAccounting(spark)
    registry = _registry(spark)
    tasks = _tasks(spark, [paths] if isinstance(paths, str | os.PathLike) else list(paths), split_bytes)
    raw = tasks.mapInArrow(spark_tasks.reader(registry, source, loaded, counts.tasks), spark_schema(READ_ORDER))
    return _collapsed(raw, counts)


def price(df: Any, *, at: Any = None, accounting: SparkAccounting | None = None) -> Any:
    """``df`` (:func:`spark_schema` columns) with cost, currency, price_ref and the unpriced flags filled by
    tokctl.pricing.price_table; ``at`` prices the rows without a timestamp (a datetime)."""
    from pyspark.sql import Observation
    from pyspark.sql import functions as f

    registry = _registry(df.sparkSession)
    priced = df.select(*spark_schema().names).mapInArrow(spark_tasks.pricer(registry, at), spark_schema())
    if accounting is None:
        return priced
    accounting.priced = Observation("tokctl_unpriced")
    tokens = f.col("input_tokens").isNotNull() | f.col("output_tokens").isNotNull()
    unpriced = f.sum(f.when(f.col("cost").isNull() & tokens, 1).otherwise(0)).alias("unpriced")
    return priced.observe(accounting.priced, unpriced)


def _collapsed(raw: Any, counts: SparkAccounting) -> Any:
    """The last row of each record_id in reading order, flagged when it absorbed others."""
    from pyspark.sql import Observation, Window
    from pyspark.sql import functions as f

    ids = Window.partitionBy("record_id")
    last_first = ids.orderBy(f.col(TASK).desc(), f.col(POSITION).desc())
    ranked = raw.withColumn("_rank", f.row_number().over(last_first)).withColumn("_copies", f.count("*").over(ids))
    counts.dedup = Observation("tokctl_dedup")
    kept = ranked.filter(f.col("_rank") == 1).observe(counts.dedup, f.sum(f.col("_copies") - 1).alias("duplicates"))
    none = f.array().cast("array<string>")
    flags = f.when(
        f.col("_copies") > 1, f.concat(f.coalesce(f.col("flags"), none), f.array(f.lit(COLLAPSED)))
    ).otherwise(f.col("flags"))
    return kept.withColumn("flags", flags).select(*spark_schema().names)


_broadcasts: dict[tuple[int, tuple[int, ...]], Any] = {}


def _registry(spark: Any) -> Any:
    """The driver's registry in a broadcast: made once per session and registry (read and price share it)."""
    from tokctl.registry import snapshot

    captured = snapshot.capture()
    key = (id(spark.sparkContext), (id(captured.platforms), id(captured.calendars), id(captured.user)))
    if key not in _broadcasts:
        _broadcasts[key] = spark.sparkContext.broadcast(captured)
    return _broadcasts[key]


_TASK_SCHEMA = (
    "task long, display string, path string, offset long, length long, first_line long, content binary,"
    " skip_reason string, skip_detail string"
)


def _tasks(spark: Any, paths: list[Any], split_bytes: int | None) -> Any:
    """One row per reading task, in reading order: (task, display, path, offset, length, first_line, content).

    Local paths are planned as one machine plans them and read by the workers from their file system; the
    files under a URI are listed and read by Spark (binaryFile), their bytes handed to the reader."""
    from tokctl.ingest.inputs import expand
    from tokctl.ingest.pipeline import plan_tasks

    local: list[tuple[Any, ...]] = []
    remote: list[tuple[int, str]] = []
    for given in paths:
        text = os.fspath(given)
        if text.startswith(_URI_SCHEMES):
            remote.extend((len(local) + len(remote), uri) for uri in _listed(spark, text))
            continue
        for task in plan_tasks(list(expand([text])), split_bytes):
            path = None if task.path is None else str(task.path.resolve())
            local.append(
                (len(local) + len(remote), task.display, path, task.offset, task.length, task.first_line, None)
                + (task.skip or (None, None))
            )
    frames = []
    if local or not remote:
        rows = spark.sparkContext.parallelize(local, max(1, min(len(local), 10_000)))
        frames.append(spark.createDataFrame(rows, _TASK_SCHEMA))
    if remote:
        from pyspark.sql import functions as f

        order = spark.createDataFrame(remote, "task long, path string")
        files = spark.read.format("binaryFile").option("recursiveFileLookup", "true").load([u for _, u in remote])
        joined = files.select("path", "content").join(f.broadcast(order), "path")
        frames.append(
            joined.select(
                "task",
                f.col("path").alias("display"),
                f.lit(None).cast("string").alias("path"),
                f.lit(0).cast("long").alias("offset"),
                f.lit(None).cast("long").alias("length"),
                f.lit(1).cast("long").alias("first_line"),
                "content",
                f.lit(None).cast("string").alias("skip_reason"),
                f.lit(None).cast("string").alias("skip_detail"),
            )
        )
    tasks = frames[0]
    for frame in frames[1:]:
        tasks = tasks.unionByName(frame)
    return tasks


def _listed(spark: Any, uri: str) -> list[str]:
    """The files under a URI, as Spark's file listing finds them (sorted: the reading order)."""
    from tokctl.ingest.inputs import COMPRESSION_SUFFIXES, LOG_SUFFIXES

    def is_log(uri: str) -> bool:
        name = uri.rstrip("/").rsplit("/", 1)[-1].lower()
        parts = name.split(".")[1:]
        while parts and f".{parts[-1]}" in COMPRESSION_SUFFIXES:
            parts.pop()
        return not name.startswith((".", "_")) and bool(parts) and f".{parts[-1]}" in LOG_SUFFIXES

    found = spark.read.format("binaryFile").option("recursiveFileLookup", "true").load(uri).select("path")
    return sorted(uri for uri in (row.path for row in found.collect()) if is_log(uri))


def to_arrow(df: Any) -> Any:
    """The rows of ``df`` collected into one pyarrow Table under the exact canonical schema (small results:
    tests, samples)."""
    import pyarrow as pa

    from tokctl.schema import usage_schema

    table = df.select(*spark_schema().names).toArrow()
    batches = [spark_tasks.canonical(b) for b in table.to_batches()]
    return pa.Table.from_batches(batches, schema=usage_schema())
