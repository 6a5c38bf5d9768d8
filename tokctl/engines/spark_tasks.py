"""What Spark's Python workers run: tokctl's own readers and pricer over Arrow batches (no pyspark here).

Each function is handed to ``DataFrame.mapInArrow`` by tokctl.engines.spark, with the driver's registry
(tokctl.registry.snapshot) in a broadcast that it installs once per worker process before the first record.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from tokctl.ingest.accounting import Accounting

TASK = "_task"  # the reading-order index of the task (file or byte range) a row came from
POSITION = "_position"  # the row's place in its task's output
READ_ORDER = (TASK, POSITION)
COLLAPSED = "dedup_collapsed"


def plain_schema(extra: tuple[str, ...] = ()) -> Any:
    """The canonical Arrow schema as Spark takes it: dictionary columns as plain strings, plus ``extra``
    int64 columns."""
    import pyarrow as pa

    from tokctl.schema import usage_schema

    fields = [
        pa.field(f.name, pa.string() if pa.types.is_dictionary(f.type) else f.type, nullable=f.nullable)
        for f in usage_schema()
    ]
    return pa.schema([*fields, *(pa.field(name, pa.int64(), nullable=False) for name in extra)])


def _install(snapshot: Any) -> None:
    """The driver's registry in this worker; the readers' and the pricer's caches of the one before forgotten."""
    from tokctl.registry.snapshot import install

    if install(snapshot):
        from tokctl.ingest import resolve
        from tokctl.pricing import book

        book.clear_caches()
        resolve.clear_cache()


def _threads() -> None:
    """Arrow's threads limited to the cores Spark gave the task (spark.task.cpus), as Spark expects."""
    import pyarrow as pa

    try:
        from pyspark import TaskContext

        context = TaskContext.get()
        cores = context.cpus() if context is not None else None
    except ImportError:
        cores = None
    if cores:
        pa.set_cpu_count(cores)


def reader(
    registry: Any, source: str | None, mapping: Any, accounting: Any
) -> Callable[[Iterator[Any]], Iterator[Any]]:
    """A mapInArrow function from task rows (task, display, path, offset, length, first_line) to canonical
    rows with their reading order; each task's Accounting goes to ``accounting`` (an accumulator of
    {task: Accounting}, so a task run twice after a failure is counted once)."""

    def read(tasks: Iterator[Any]) -> Iterator[Any]:
        _install(registry.value)
        _threads()
        for batch in tasks:
            for row in batch.to_pylist():
                yield from _read_task(row, source, mapping, accounting)

    return read


def _read_task(row: dict[str, Any], source: str | None, mapping: Any, accounting: Any) -> Iterator[Any]:
    import pyarrow as pa

    from tokctl.ingest.options import ReadOptions
    from tokctl.ingest.pipeline import Progress, Task, serial_batches

    if row.get("content") is not None:  # a file Spark read (a URI): the readers take it from a local copy
        import tempfile

        with tempfile.TemporaryDirectory(prefix="tokctl-spark-") as scratch:
            copy = Path(scratch) / row["display"].rstrip("/").rsplit("/", 1)[-1]
            copy.write_bytes(row["content"])
            yield from _read_task({**row, "path": str(copy), "content": None}, source, mapping, accounting)
        return
    path = row["path"]
    skip = (row["skip_reason"], row["skip_detail"]) if row.get("skip_reason") is not None else None
    task = Task(
        row["display"], None if path is None else Path(path), row["offset"], row["length"], row["first_line"], skip=skip
    )
    acc = Accounting()
    schema = plain_schema(READ_ORDER)
    position = 0
    options = ReadOptions(source=source, mapping=mapping)
    for batch, _hashes in serial_batches(iter([task]), options, acc, Progress(None)):
        n = batch.num_rows
        columns = [
            *plain(batch).columns,
            pa.array([row["task"]] * n, pa.int64()),
            pa.array(range(position, position + n), pa.int64()),
        ]
        position += n
        yield pa.RecordBatch.from_arrays(columns, schema=schema)
    accounting.add({row["task"]: acc})


def plain(batch: Any) -> Any:
    """A canonical batch with its dictionary columns decoded (Spark has no dictionary type)."""
    import pyarrow as pa

    columns = [c.cast(pa.string()) if pa.types.is_dictionary(c.type) else c for c in batch.columns]
    return pa.RecordBatch.from_arrays(columns, schema=plain_schema())


def canonical(batch: Any) -> Any:
    """A batch from Spark under the exact canonical Arrow schema (dictionary columns encoded again)."""
    import pyarrow as pa

    from tokctl.schema import usage_schema

    schema = usage_schema()
    columns = [
        batch.column(f.name).dictionary_encode()
        if pa.types.is_dictionary(f.type)
        else batch.column(f.name).cast(f.type)
        for f in schema
    ]
    return pa.RecordBatch.from_arrays(columns, schema=schema)


def pricer(registry: Any, at: Any) -> Callable[[Iterator[Any]], Iterator[Any]]:
    """A mapInArrow function that prices canonical rows with tokctl.pricing.price_table."""

    def price(batches: Iterator[Any]) -> Iterator[Any]:
        from tokctl.pricing import price_table

        _install(registry.value)
        _threads()
        for batch in batches:
            if batch.num_rows:
                yield plain(collapse_last(price_table(canonical(batch), at=at)))

    return price


def collapse_last(batch: Any) -> Any:
    """``dedup_collapsed`` moved after the pricer's flags: one machine prices before it collapses, and the
    flags must read the same whichever ran first."""
    import pyarrow as pa

    index = batch.schema.get_field_index("flags")
    flags = batch.column(index).to_pylist()
    if not any(f and COLLAPSED in f and f[-1] != COLLAPSED for f in flags):
        return batch
    moved = [[x for x in f if x != COLLAPSED] + [COLLAPSED] if f and COLLAPSED in f else f for f in flags]
    return batch.set_column(index, batch.schema.field(index), pa.array(moved, batch.schema.field(index).type))
