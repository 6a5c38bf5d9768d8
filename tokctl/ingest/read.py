"""From paths to canonical usage record batches: plans the read (one process or several) and streams it.

:func:`iter_batches` streams: files are read one record at a time (tokctl.ingest.pipeline), rows are built into
Arrow record batches of :data:`~tokctl.ingest.batch.BATCH_ROWS` rows, and only one batch is held while it fills.
Large inputs are read by worker processes (tokctl.ingest.parallel). Duplicates (rows with the same record_id)
can be anywhere in the input, so they are collapsed after the stream (tokctl.ingest.collapse).
"""

from __future__ import annotations

import gc
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tokctl.ingest import columnar
from tokctl.ingest.accounting import Accounting
from tokctl.ingest.batch import BATCH_ROWS
from tokctl.ingest.detection import Context
from tokctl.ingest.generic import Mapping
from tokctl.ingest.inputs import expand, is_plain_json_lines
from tokctl.ingest.options import ReadOptions
from tokctl.ingest.parallel import parallel_batches
from tokctl.ingest.pipeline import CHUNK_BYTES, Progress, file_size, plan_tasks, serial_batches
from tokctl.settings import current

PARALLEL_MIN_BYTES = 32 * 1024 * 1024


def iter_batches(
    paths: Any,
    source: str | None = None,
    *,
    strict: bool = False,
    mapping: Mapping | None = None,
    accounting: Accounting | None = None,
    batch_rows: int = BATCH_ROWS,
    progress: Callable[[int, int], None] | None = None,
    workers: int | None = 1,
    chunk_bytes: int = CHUNK_BYTES,
) -> Iterator[tuple[Any, Any]]:
    """:func:`stream_batches` with the options as keywords."""
    options = ReadOptions(source, strict, mapping, workers, progress, batch_rows)
    acc = accounting if accounting is not None else Accounting()
    yield from stream_batches(paths, options, acc, chunk_bytes=chunk_bytes)


def stream_batches(
    paths: Any, options: ReadOptions, accounting: Accounting, *, chunk_bytes: int = CHUNK_BYTES
) -> Iterator[tuple[Any, Any]]:
    """Yield (RecordBatch of canonical rows, int64 identity hashes), filling ``accounting`` as it goes.

    ``options.workers``: processes that parse in parallel; 1: this process only; None: ``TOKCTL_WORKERS``
    (tokctl.settings) when set, else one per CPU up to 4 when the input holds at least
    :data:`PARALLEL_MIN_BYTES`. Workers are started with ``spawn``, so a script that asks for them must
    guard its entry point with ``if __name__ == "__main__":`` (the CLI does). Batches come out in input
    order either way, so "the last duplicate wins" means the same thing.

    The cyclic garbage collector is paused while reading: readers make no reference cycles, and with a
    batch of row dicts alive its repeated full scans cost more than the parsing itself.
    """
    Context(options.source, options.mapping)  # validates --source before any file is opened
    targets = list(expand(paths))
    meter = Progress(options.progress)
    meter.total = sum(file_size(path) for _, path in targets)
    count = _worker_count(options, targets, meter.total)
    tasks = plan_tasks(targets, _balanced(chunk_bytes, meter.total, count) if count > 1 else None)
    collecting = gc.isenabled()
    gc.disable()
    try:
        if count > 1:
            yield from parallel_batches(tasks, count, options, accounting, meter)
        else:
            yield from serial_batches(tasks, options, accounting, meter)
    finally:
        if collecting:
            gc.enable()


def _worker_count(options: ReadOptions, targets: list[tuple[str, Path | None]], total_bytes: int) -> int:
    """The caller's count; else ``TOKCTL_WORKERS``; else by input size (one process when the input is small
    or mostly read by the columnar fast path, which already runs on threads)."""
    if options.workers is not None:
        return max(1, options.workers)
    chosen = current().workers
    if chosen is not None:
        return chosen
    if total_bytes < PARALLEL_MIN_BYTES:
        return 1
    return 1 if _mostly_columnar(targets, total_bytes, options) else max(1, min(os.cpu_count() or 1, 4))


def _mostly_columnar(targets: list[tuple[str, Path | None]], total: int, options: ReadOptions) -> bool:
    """Whether four fifths of the input's bytes are plain JSON lines whose first record the columnar fast
    path reads (judged by each file's first line)."""
    if options.source is not None or options.mapping is not None or not columnar.enabled():
        return False
    fast = 0
    for _, path in targets:
        if path is None or file_size(path) < 1 << 20:
            continue
        try:
            if not is_plain_json_lines(path):
                continue
            with open(path, "rb") as fh:
                first = fh.readline(1 << 20).strip()
        except OSError:
            continue
        if columnar.shape_of(first) is not None:
            fast += file_size(path)
    return fast * 5 >= total * 4


def _balanced(chunk_bytes: int, total_bytes: int, workers: int) -> int:
    """Ranges small enough that every worker gets about two (a 20 MB file read in two 16 MB-or-less
    ranges keeps one worker idle half the time), but no smaller than 1 MB or than ``chunk_bytes``."""
    return min(chunk_bytes, max(1 << 20, -(-total_bytes // (2 * workers))))


@dataclass
class UsageResult:
    """A canonical usage table (pyarrow.Table) and what the read did with every record."""

    table: Any
    accounting: Accounting


def read_table(
    paths: Any,
    source: str | None = None,
    strict: bool = False,
    *,
    mapping: str | Path | None = None,
    columns: Sequence[str] | None = None,
    progress: Callable[[int, int], None] | None = None,
    workers: int | None = 1,
) -> UsageResult:
    """The unpriced usage of ``paths`` (duplicates collapsed) as one table, with its accounting; pricing the
    read is tokctl.usage.read."""
    from tokctl.ingest.collapse import collapsed

    acc = Accounting()
    pairs = stream_batches(paths, ReadOptions.of(source, strict, mapping, workers, progress), acc)
    batches = [b if columns is None else b.select(list(columns)) for b in collapsed(pairs, acc, hold=columns)]
    return UsageResult(as_table(batches, columns), acc)


def as_table(batches: list[Any], columns: Sequence[str] | None) -> Any:
    """One table of ``batches``; the empty table of the canonical schema (or its ``columns``) when none."""
    import pyarrow as pa

    if batches:
        return pa.Table.from_batches(batches)
    from tokctl.schema import usage_schema

    schema = usage_schema()
    return (schema if columns is None else pa.schema([schema.field(c) for c in columns])).empty_table()
