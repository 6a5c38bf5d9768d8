"""From paths to canonical usage record batches, with an accounting that always adds up.

:func:`iter_batches` streams: files are read one record at a time, rows are built into Arrow record
batches of :data:`~tokctl.readers.batch.BATCH_ROWS` rows, and only one batch is held while it fills.
Duplicates (rows with the same record_id) can be anywhere in the input, so they are collapsed after the
stream by :mod:`tokctl.readers.dedup`, from 8 bytes per row.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from tokctl.errors import InputFormatError
from tokctl.readers.accounting import INFORMATIONAL, Accounting
from tokctl.readers.batch import BATCH_ROWS, BatchBuilder
from tokctl.readers.detection import Context, containers, parse
from tokctl.readers.files import Bad, expand, open_stream, records
from tokctl.readers.generic import Mapping
from tokctl.readers.rows import finalize
from tokctl.readers.values import Skip

# Errors a malformed record can raise deep inside a reader: counted as unknown_shape, never fatal.
_RECORD_ERRORS = (TypeError, ValueError, AttributeError, KeyError, IndexError, OverflowError)


class Progress:
    """Bytes read so far, reported to ``callback(done, total)`` after each batch (and each file)."""

    def __init__(self, callback: Callable[[int, int], None] | None) -> None:
        self.callback = callback
        self.total = 0
        self.done = 0

    def report(self, current: int) -> None:
        if self.callback is not None:
            self.callback(self.done + current, self.total)


def iter_batches(
    paths: Any,
    source: str | None = None,
    *,
    strict: bool = False,
    mapping: Mapping | None = None,
    accounting: Accounting | None = None,
    batch_rows: int = BATCH_ROWS,
    progress: Callable[[int, int], None] | None = None,
) -> Iterator[tuple[Any, Any]]:
    """Yield (RecordBatch of canonical rows, int64 identity hashes), filling ``accounting`` as it goes."""
    acc = accounting if accounting is not None else Accounting()
    Context(source, mapping)  # validates --source before any file is opened
    targets = list(expand(paths))
    meter = Progress(progress)
    meter.total = sum(_size(path) for _, path in targets)
    builder = BatchBuilder()
    for display, path in targets:
        acc.files += 1
        if path is None:
            _skip(acc, strict, "missing_file", f"{display}:0", "no such file, directory or glob match")
            continue
        for _ in _read_file(display, path, Context(source, mapping), acc, strict, builder, meter):
            if len(builder) >= batch_rows:
                yield builder.flush()
        meter.done += _size(path)
        meter.report(0)
    if len(builder):
        yield builder.flush()


def _read_file(
    display: str, path: Path, ctx: Context, acc: Accounting, strict: bool, builder: BatchBuilder, meter: Progress
) -> Iterator[None]:
    """Add the file's rows to ``builder``; yields after each record so the caller can flush."""
    try:
        stream, raw = open_stream(path)
    except OSError as exc:
        _skip(acc, strict, "unreadable", f"{display}:0", exc.strerror or type(exc).__name__)
        return
    before = acc.records
    line = 0
    try:
        with raw, stream:
            for line, value in records(stream, path):
                for item in containers(value):
                    _record(item, display, line, ctx, acc, strict, builder)
                    yield None
                if line & 0x3FFF == 0:
                    meter.report(raw.tell())
    except (OSError, EOFError) as exc:
        _skip(acc, strict, "unreadable", f"{display}:{line}", str(exc) or type(exc).__name__)
    except Exception as exc:  # zstandard.ZstdError and friends: a corrupt compressed stream
        if type(exc).__module__.split(".")[0] not in ("zstandard", "zlib", "gzip"):
            raise
        _skip(acc, strict, "unreadable", f"{display}:{line}", str(exc) or type(exc).__name__)
    if acc.records == before:
        _skip(acc, strict, "empty_file", f"{display}:0", "no records in the file")


def _record(
    item: Any, display: str, line: int, ctx: Context, acc: Accounting, strict: bool, builder: BatchBuilder
) -> None:
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
        builder.add(finalize(row, display, line, index))
    acc.rows += len(rows)


def _skip(acc: Accounting, strict: bool, reason: str, where: str, detail: str) -> None:
    acc.skip(reason, where, detail)
    if strict and reason not in INFORMATIONAL:
        raise InputFormatError(
            f"{reason}: {detail}" if detail else reason,
            where=where,
            fix="fix or remove that record, or leave out --strict to count it and go on",
        )


def _size(path: Path | None) -> int:
    if path is None:
        return 0
    try:
        return os.stat(path).st_size
    except OSError:
        return 0
