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
from tokctl.ingest.parallel import parallel_batches
from tokctl.ingest.pipeline import CHUNK_BYTES, Progress, file_size, plan_tasks, serial_batches

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
    """Yield (RecordBatch of canonical rows, int64 identity hashes), filling ``accounting`` as it goes.

    ``workers``: processes that parse in parallel; 1 (the default): this process only; None: automatic
    (``TOKCTL_WORKERS``, else one per CPU up to 4 when the input holds at least
    :data:`PARALLEL_MIN_BYTES`). Workers are started with ``spawn``, so a script that asks for them must
    guard its entry point with ``if __name__ == "__main__":`` (the CLI does). Batches come out in input
    order either way, so "the last duplicate wins" means the same thing.

    The cyclic garbage collector is paused while reading: readers make no reference cycles, and with a
    batch of row dicts alive its repeated full scans cost more than the parsing itself.
    """
    acc = accounting if accounting is not None else Accounting()
    Context(source, mapping)  # validates --source before any file is opened
    targets = list(expand(paths))
    meter = Progress(progress)
    meter.total = sum(file_size(path) for _, path in targets)
    count = _worker_count(workers, meter.total)
    if workers is None and count > 1 and _mostly_columnar(targets, meter.total, source, mapping):
        count = 1  # the fast path already runs on threads; worker processes would only add their start-up
    tasks = plan_tasks(targets, _balanced(chunk_bytes, meter.total, count) if count > 1 else None)
    collecting = gc.isenabled()
    gc.disable()
    try:
        if count > 1:
            yield from parallel_batches(tasks, count, source, mapping, strict, batch_rows, acc, meter)
        else:
            yield from serial_batches(tasks, source, mapping, strict, batch_rows, acc, meter)
    finally:
        if collecting:
            gc.enable()


def _worker_count(workers: int | None, total_bytes: int) -> int:
    if workers is None:
        env = os.environ.get("TOKCTL_WORKERS", "").strip()
        if env.isdigit() and int(env) > 0:
            return int(env)
        if total_bytes < PARALLEL_MIN_BYTES:
            return 1
        return max(1, min(os.cpu_count() or 1, 4))
    return max(1, workers)


def _mostly_columnar(targets: list[tuple[str, Path | None]], total: int, source: str | None, mapping: Any) -> bool:
    """Whether four fifths of the input's bytes are plain JSON lines whose first record the columnar fast
    path reads (judged by each file's first line)."""
    if source is not None or mapping is not None or not columnar.enabled() or os.environ.get("TOKCTL_WORKERS"):
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


def read_batches(
    paths: Any,
    source: str | None,
    strict: bool,
    *,
    mapping: str | Path | None,
    accounting: Accounting,
    progress: Callable[[int, int], None] | None,
    workers: int | None = 1,
) -> Iterator[tuple[Any, Any]]:
    """(batch, identity hashes) read from ``paths`` with a mapping file (id or path) loaded; not priced,
    duplicates not yet collapsed."""
    from tokctl.ingest.generic import load_mapping

    loaded = load_mapping(mapping) if mapping is not None else None
    yield from iter_batches(
        paths, source, strict=strict, mapping=loaded, accounting=accounting, progress=progress, workers=workers
    )


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
    pairs = read_batches(paths, source, strict, mapping=mapping, accounting=acc, progress=progress, workers=workers)
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
