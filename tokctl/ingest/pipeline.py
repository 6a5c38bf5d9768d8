"""Reading tasks (a file, or a byte range of a large JSON-lines file) into canonical record batches, in this
process, with an accounting that always adds up.

Records are read one at a time (or a block at a time by the columnar fast path), rows are built into Arrow record
batches of :data:`~tokctl.ingest.batch.BATCH_ROWS` rows, and only one batch is held while it fills. Planning the
read (how many processes) is tokctl.ingest.read; worker processes run :func:`serial_batches` too.
"""

from __future__ import annotations

import functools
import io
import os
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tokctl.errors import InputFormatError
from tokctl.ingest import columnar
from tokctl.ingest.accounting import INFORMATIONAL, Accounting
from tokctl.ingest.batch import BatchBuilder
from tokctl.ingest.detection import Context, containers, parse
from tokctl.ingest.inputs import MAX_LINE_BYTES, Bad, is_plain_json_lines, json_lines, open_stream, records
from tokctl.ingest.options import ReadOptions
from tokctl.ingest.rows import finalize
from tokctl.ingest.values import Skip

CHUNK_BYTES = 16 * 1024 * 1024
BLOCK_BYTES = 8 * 1024 * 1024  # what the columnar fast path parses at once

# Errors a malformed record can raise deep inside a reader: counted as unknown_shape, never fatal.
_RECORD_ERRORS = (TypeError, ValueError, AttributeError, KeyError, IndexError, ArithmeticError, RecursionError)


class Progress:
    """Bytes read so far, reported to ``callback(done, total)`` after each batch (and each file)."""

    def __init__(self, callback: Callable[[int, int], None] | None) -> None:
        self.callback = callback
        self.total = 0
        self.done = 0

    def report(self, current: int) -> None:
        if self.callback is not None:
            self.callback(self.done + current, self.total)


@dataclass(frozen=True)
class Task:
    """One unit of reading: a whole file, or a byte range of a plain JSON-lines file (``length`` set)."""

    display: str
    path: Path | None
    offset: int = 0
    length: int | None = None
    first_line: int = 1


def plan_tasks(targets: list[tuple[str, Path | None]], chunk_bytes: int | None) -> Iterator[Task]:
    """A task per file; large plain JSON-lines files are cut at line ends into ``chunk_bytes`` ranges."""
    for display, path in targets:
        if path is None or chunk_bytes is None or file_size(path) <= chunk_bytes or not is_plain_json_lines(path):
            yield Task(display, path)
            continue
        yield from _chunks(display, path, chunk_bytes)


def _chunks(display: str, path: Path, chunk_bytes: int) -> Iterator[Task]:
    offset, line = 0, 1
    with open(path, "rb") as fh:
        while True:
            block = fh.read(chunk_bytes)
            if not block:
                return
            end = block.rfind(b"\n") + 1
            while end == 0:  # one line longer than a chunk: extend to its end
                more = fh.read(chunk_bytes)
                if not more:
                    end = len(block)
                    break
                block += more
                found = more.rfind(b"\n")
                end = len(block) - len(more) + found + 1 if found >= 0 else 0
            yield Task(display, path, offset, end, line)
            line += block.count(b"\n", 0, end)
            offset += end
            fh.seek(offset)


def serial_batches(
    tasks: Iterator[Task], options: ReadOptions, acc: Accounting, meter: Progress
) -> Iterator[tuple[Any, Any]]:
    builder = BatchBuilder()
    for task in tasks:
        for ready in read_task(task, context_for(task, options), acc, options, builder, meter):
            yield from emit(ready, builder, acc, options.strict)
    if len(builder):
        yield flush(builder, acc, options.strict)


def emit(ready: tuple[Any, Any] | None, builder: BatchBuilder, acc: Accounting, strict: bool) -> Iterator[Any]:
    """What :func:`read_task` signalled: None, the builder is full; a batch, it goes out after the rows
    before it, so batches keep reading order."""
    if ready is None:
        yield flush(builder, acc, strict)
        return
    if len(builder):
        yield flush(builder, acc, strict)
    yield ready


def flush(builder: BatchBuilder, acc: Accounting, strict: bool) -> tuple[Any, Any]:
    """The builder's batch; a row Arrow cannot hold moves its record from parsed to skipped (out_of_range)."""
    batch = builder.flush()
    for row, why in builder.rejected:
        acc.records -= 1
        acc.parsed -= 1
        acc.rows -= 1
        _skip(acc, strict, "out_of_range", f"{row.get('source_file')}:{row.get('source_line')}", why)
    return batch


def context_for(task: Task, options: ReadOptions) -> Context:
    """The reading context of one file: a column mapping beside it (``name.mapping.toml`` next to
    ``name.csv``, ``name.jsonl.gz``, ...) applies to that file when no mapping was given."""
    source, mapping = options.source, options.mapping
    if mapping is None and source is None and task.path is not None:
        sidecar = sidecar_mapping(task.path)
        if sidecar is not None:
            from tokctl.ingest.generic import load_mapping

            return Context(None, load_mapping(sidecar))
    return Context(source, mapping)


def sidecar_mapping(path: Path) -> Path | None:
    candidate = path.parent / f"{path.name.split('.', 1)[0]}.mapping.toml"
    return candidate if candidate.is_file() else None


@dataclass(frozen=True)
class Reading:
    """What the records of one task are read with, and into."""

    ctx: Context
    acc: Accounting
    strict: bool
    builder: BatchBuilder
    meter: Progress
    batch_rows: int


def read_task(
    task: Task, ctx: Context, acc: Accounting, options: ReadOptions, builder: BatchBuilder, meter: Progress
) -> Iterator[tuple[Any, Any] | None]:
    """Add the task's rows to ``builder``; yields None whenever the builder holds ``batch_rows`` rows, and a
    finished (batch, hashes) for a block that the columnar fast path read."""
    display, path, strict = task.display, task.path, options.strict
    if task.offset == 0:
        acc.files += 1
    if path is None:
        _skip(
            acc, strict, "missing_file", f"{display}:0", "no such file, no glob match, or no log file in the directory"
        )
        return
    before = acc.records
    reading = Reading(ctx, acc, strict, builder, meter, options.batch_rows)
    fast = ctx.source is None and ctx.mapping is None and columnar.enabled()
    try:
        if fast and (task.length is not None or is_plain_json_lines(path)):
            yield from _read_blocks(task, reading)
        else:
            yield from _read_stream(task, reading)
    except OSError as exc:
        _skip(acc, strict, "unreadable", f"{display}:0", exc.strerror or type(exc).__name__)
        return
    if acc.records == before and task.length is None:
        _skip(acc, strict, "empty_file", f"{display}:0", "no records in the file")
    meter.done += task.length if task.length is not None else file_size(path)
    meter.report(0)


def _read_blocks(task: Task, reading: Reading) -> Iterator[tuple[Any, Any] | None]:
    """A plain JSON-lines range (or whole file) in blocks cut at line ends: each block is read by the
    columnar fast path when it can be, else record by record.

    The fast path runs ahead on a thread pool (Arrow's parser and kernels release the GIL), at most
    :data:`BLOCKS_AHEAD` blocks ahead, while the caller prices and writes the batches before; blocks come
    out in file order either way."""
    assert task.path is not None
    pending: deque[tuple[int, bytes, int, Future[Any]]] = deque()
    with open(task.path, "rb") as raw:
        blocks = line_blocks(raw, task.offset, task.length, task.first_line, BLOCK_BYTES)
        pool = _block_pool()
        try:
            for offset, block, first_line, newlines in blocks:
                read = pool.submit(columnar.read_block, block, task.display, first_line, newlines)
                pending.append((offset, block, first_line, read))
                if len(pending) > BLOCKS_AHEAD:
                    yield from _block_rows(pending.popleft(), task, reading)
            while pending:
                yield from _block_rows(pending.popleft(), task, reading)
        finally:
            for *_, future in pending:
                future.cancel()


BLOCKS_AHEAD = 2


@functools.cache
def _block_pool() -> Any:
    from concurrent.futures import ThreadPoolExecutor

    return ThreadPoolExecutor(max_workers=max(1, min(os.cpu_count() or 1, 4)), thread_name_prefix="tokctl-block")


def _block_rows(item: tuple[int, bytes, int, Any], task: Task, reading: Reading) -> Iterator[tuple[Any, Any] | None]:
    offset, block, first_line, future = item
    done = future.result()
    acc, meter = reading.acc, reading.meter
    if done is not None:
        batch, hashes, rows = done
        acc.records += rows
        acc.parsed += rows
        acc.rows += rows
        meter.report(offset + len(block) - task.offset)
        yield batch, hashes
        return
    found = _numbered(json_lines(io.BytesIO(block)), first_line - 1)
    for _ in _read_records(found, task.display, reading):
        meter.report(offset + len(block) - task.offset)
        yield None


def line_blocks(
    raw: Any, offset: int, length: int | None, first_line: int, block_bytes: int
) -> Iterator[tuple[int, bytes, int, int]]:
    """(offset, bytes, number of the first line, newlines in it) of blocks of whole lines read from ``offset``
    for ``length`` bytes (to the end when None). A line longer than a block makes a block of its own; one of
    MAX_LINE_BYTES or more gives only its first MAX_LINE_BYTES, which json_lines reports as too long."""
    end = None if length is None else offset + length
    line = first_line
    while end is None or offset < end:
        raw.seek(offset)
        want = block_bytes if end is None else min(block_bytes, end - offset)
        block = raw.read(want)
        if not block:
            return
        final = len(block) < want or (end is not None and offset + len(block) >= end)
        cut = len(block) if final else block.rfind(b"\n") + 1
        while cut == 0:  # one line longer than the block: read on to its end
            if len(block) >= MAX_LINE_BYTES:
                yield offset, block[:MAX_LINE_BYTES], line, 0
                offset = _after_line(raw, offset + len(block), end, block_bytes)
                line += 1
                block = b""
                break
            more = raw.read(block_bytes if end is None else min(block_bytes, end - offset - len(block)))
            found = more.find(b"\n")
            if not more or found >= 0 or (end is not None and offset + len(block) + len(more) >= end):
                cut = len(block) + (found + 1 if found >= 0 else len(more))
            block += more
        if not block:
            continue
        out = block if cut == len(block) else block[:cut]
        newlines = out.count(b"\n")
        yield offset, out, line, newlines
        line += newlines
        offset += cut


def _after_line(raw: Any, offset: int, end: int | None, block_bytes: int) -> int:
    """The offset after the line end at or past ``offset`` (or the end)."""
    raw.seek(offset)
    while end is None or offset < end:
        data = raw.read(block_bytes if end is None else min(block_bytes, end - offset))
        if not data:
            break
        found = data.find(b"\n")
        if found >= 0:
            return offset + found + 1
        offset += len(data)
    return offset if end is None else min(offset, end)


def _read_stream(task: Task, reading: Reading) -> Iterator[None]:
    display, path = task.display, task.path
    assert path is not None
    if task.length is None:
        stream, raw = open_stream(path)
        found = records(stream, path)
    else:
        raw = stream = open(path, "rb")  # noqa: SIM115 - closed below
        raw.seek(task.offset)
        found = _numbered(json_lines(io.BytesIO(raw.read(task.length))), task.first_line - 1)
    with raw, stream:
        for _ in _read_records(found, display, reading):
            reading.meter.report(raw.tell() - task.offset)
            yield None


def _read_records(found: Iterator[tuple[int, Any]], display: str, reading: Reading) -> Iterator[None]:
    ctx, acc, strict, builder = reading.ctx, reading.acc, reading.strict, reading.builder
    line = 0
    try:
        for line, value in found:
            if type(value) is dict and "resourceSpans" not in value and type(value.get("data")) is not list:
                _record(value, display, line or 1, ctx, acc, strict, builder, 0)
            else:
                records_before = acc.records
                for sub, item in enumerate(containers(value)):
                    if line == 0:
                        _record(item, display, sub + 1, ctx, acc, strict, builder, 0)
                    else:
                        _record(item, display, line, ctx, acc, strict, builder, sub)
                if acc.records == records_before:
                    _skip(acc, strict, "no_usage", f"{display}:{line or 1}", "an empty list or page")
            if len(builder) >= reading.batch_rows:
                yield None
    except (OSError, EOFError) as exc:
        _skip(acc, strict, "unreadable", f"{display}:{line + 1}", str(exc) or type(exc).__name__)
    except Exception as exc:  # zstandard.ZstdError and friends: a corrupt compressed stream
        if type(exc).__module__.split(".")[0] not in ("zstandard", "zlib", "gzip"):
            raise
        _skip(acc, strict, "unreadable", f"{display}:{line + 1}", str(exc) or type(exc).__name__)


def _numbered(found: Iterator[tuple[int, Any]], shift: int) -> Iterator[tuple[int, Any]]:
    for line, value in found:
        yield line + shift, value


def _record(
    item: Any,
    display: str,
    line: int,
    ctx: Context,
    acc: Accounting,
    strict: bool,
    builder: BatchBuilder,
    sub: int,
) -> None:
    """Parse one record into ``builder``; ``sub`` numbers the records of one line (container items)."""
    if type(item) is Bad:
        _skip(acc, strict, item.reason, f"{display}:{line}", item.detail)
        return
    try:
        rows = parse(item, ctx)
    except Skip as skip:
        _skip(acc, strict, skip.reason, f"{display}:{line}", skip.detail)
        return
    except _RECORD_ERRORS as exc:
        _skip(acc, strict, "unknown_shape", f"{display}:{line}", f"unexpected structure ({type(exc).__name__})")
        return
    acc.records += 1
    acc.parsed += 1
    for index, row in enumerate(rows):
        builder.add(finalize(row, display, line, sub + index))
    acc.rows += len(rows)


def _skip(acc: Accounting, strict: bool, reason: str, where: str, detail: str) -> None:
    acc.skip(reason, where, detail)
    if strict and reason not in INFORMATIONAL:
        raise InputFormatError(
            f"{reason}: {detail}" if detail else reason,
            where=where,
            fix="fix or remove that record, or leave out --strict to count it and go on",
        )


def file_size(path: Path | None) -> int:
    """Bytes of ``path`` (0 when it is missing or unreadable: the read reports that file on its own)."""
    if path is None:
        return 0
    try:
        return os.stat(path).st_size
    except OSError:
        return 0
